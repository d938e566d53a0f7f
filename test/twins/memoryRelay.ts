/**
 * Relay envelopes for the memory data path, as native/index.d.ts (setRelayKey) specifies them:
 * `[0x84][flags: 0 to relay, 1 from relay][key id u16 LE][MAC tag 8][other tag 8][counter u64 LE]
 * [MAC 16][datagram]`, the MAC a ChaCha20-Poly1305 tag over an empty plaintext with the first 28
 * bytes and the datagram as associated data. Keys are derived as the native side derives them, so
 * what a twin node sees of an envelope (accepted, or dropped under which counter) is what a
 * native node would see.
 */
import { createCipheriv, createHmac } from 'node:crypto';

export const ENVELOPE = 0x84;
export const TO_RELAY = 0;
export const FROM_RELAY = 1;
export const ENVELOPE_HEADER = 44;
const AAD_BYTES = 28;

export interface RelayKey {
  readonly key: Buffer;
  readonly keyId: number;
  readonly localTag: bigint;
  readonly remoteTag: bigint;
  readonly remoteEpoch: Uint8Array;
  readonly replay: ReplayWindow;
  /** Relay service's token bucket for envelopes from this member. */
  tokens: number;
  refilledAt: number;
}

/** Counters seen within the last WINDOW of the highest (native/src/datapath/replay_window.h). */
export class ReplayWindow {
  private static readonly WINDOW = 8192n;
  private highest = -1n;
  private readonly seen = new Set<bigint>();

  check(counter: bigint): boolean {
    return counter + ReplayWindow.WINDOW > this.highest && !this.seen.has(counter);
  }

  accept(counter: bigint): boolean {
    if (!this.check(counter)) return false;
    this.seen.add(counter);
    if (counter > this.highest) this.highest = counter;
    // What fell out of the window is refused by check() whether remembered or not: forgetting it
    // in one pass per WINDOW counters keeps the set within 2 × WINDOW at O(1) per envelope.
    if (this.seen.size > 2 * Number(ReplayWindow.WINDOW)) {
      for (const c of this.seen) if (c + ReplayWindow.WINDOW <= this.highest) this.seen.delete(c);
    }
    return true;
  }
}

export function tagValue(tag: Uint8Array): bigint {
  return Buffer.from(tag).readBigUInt64LE(0);
}

/** The pair's key and key id; `epoch_lo` is the epoch of the member whose tag is lower. */
export function deriveRelayKey(
  secret: Uint8Array,
  local: { tag: bigint; epoch: Uint8Array },
  remote: { tag: bigint; epoch: Uint8Array },
): { key: Buffer; keyId: number } {
  const [lo, hi] = local.tag < remote.tag ? [local, remote] : [remote, local];
  const derive = (label: string) =>
    createHmac('sha256', secret).update(label).update(lo.epoch).update(hi.epoch).digest();
  return { key: derive('overlay relay key v1'), keyId: derive('overlay relay key id v1').readUInt16LE(0) };
}

function envelopeMac(key: Buffer, fromTag: bigint, toTag: bigint, header: Buffer, inner: Uint8Array): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32LE(fromTag < toTag ? 0 : 1, 0);
  header.copy(nonce, 4, 20, 28);
  const cipher = createCipheriv('chacha20-poly1305', key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.concat([header.subarray(0, AAD_BYTES), inner]), { plaintextLength: 0 });
  cipher.final();
  return cipher.getAuthTag();
}

/**
 * An envelope's bytes: MACed by the member tagged `macTag` for the one tagged `receiverTag`,
 * under `key` (named by `keyId`). The native tests build theirs with it too (relay-world.ts).
 */
export function envelopeBytes(o: {
  flags: number;
  key: Buffer;
  keyId: number;
  macTag: bigint;
  otherTag: bigint;
  receiverTag: bigint;
  counter: bigint;
  inner: Uint8Array;
}): Buffer {
  const out = Buffer.alloc(ENVELOPE_HEADER + o.inner.length);
  out[0] = ENVELOPE;
  out[1] = o.flags;
  out.writeUInt16LE(o.keyId, 2);
  out.writeBigUInt64LE(o.macTag, 4);
  out.writeBigUInt64LE(o.otherTag, 12);
  out.writeBigUInt64LE(o.counter, 20);
  out.set(o.inner, ENVELOPE_HEADER);
  envelopeMac(o.key, o.macTag, o.receiverTag, out, o.inner).copy(out, AAD_BYTES);
  return out;
}

/** An envelope MACed with `with` (the pair of this node and the next hop). */
export function sealEnvelope(
  flags: number,
  with_: RelayKey,
  otherTag: bigint,
  counter: bigint,
  inner: Uint8Array,
): Buffer {
  return envelopeBytes({
    flags,
    key: with_.key,
    keyId: with_.keyId,
    macTag: with_.localTag,
    otherTag,
    receiverTag: with_.remoteTag,
    counter,
    inner,
  });
}

export function envelopeMacOk(with_: RelayKey, envelope: Buffer): boolean {
  const inner = envelope.subarray(ENVELOPE_HEADER);
  const mac = envelopeMac(with_.key, with_.remoteTag, with_.localTag, envelope, inner);
  return mac.equals(envelope.subarray(AAD_BYTES, ENVELOPE_HEADER));
}
