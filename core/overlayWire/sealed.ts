/**
 * Sealed messages: [0x80][sender X25519 public key][nonce 24][NaCl box of the inner message][mac1],
 * boxed between the sender's and the receiver's WireGuard keys. Only the holder of the sender key
 * could have made it and only the receiver can read it, so an on-path attacker can neither read
 * nor forge one; the receiver learns the sender's key from the header and the box authenticates it.
 *
 * Inside the box: [direction][sent-at ms u64][message id 8][kind][body]. The box key is the same in
 * both directions, so without the direction byte an attacker could reflect A's message to B back at
 * A under B's key; the byte records which of the two keys (in byte order) sent it.
 *
 * mac1, like WireGuard's (whitepaper §5.4.4), is a MAC keyed by the receiver's public key over every
 * byte before it. It proves nothing about the sender, only that it knew whom it was writing to, and
 * it costs about a microsecond, so datagrams from anyone who does not know our key are dropped
 * before the Diffie-Hellman (and the native data path drops them before they reach JavaScript).
 * HMAC-SHA256 rather than keyed BLAKE2s: OpenSSL computes it on both sides of the addon boundary.
 *
 * Opening is split so the caller can decide who may cost it anything: screen() checks sizes, mac1
 * and the header with no secret-key work and no state; the node then looks the sender up in the
 * roster (or its pending joins) and only then calls open(), which does the X25519 (native, through
 * OpenSSL) and, for a member, checks the message against that member's own replay state.
 */
import { createHash, createHmac, randomFillSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { hex } from '../base/bytes.js';
import { describeSkew } from '../clockSkew.js';
import { OverlayError } from '../errors.js';
import { dh, type RandomSource, secureRandom } from '../wireguard/primitives.js';
import { ByteReader, ByteWriter } from './byteCodec.js';
import {
  BOX_NONCE_SIZE,
  MAX_DATAGRAM,
  MESSAGE_ID_SIZE,
  PUBLIC_KEY_SIZE,
  REPLAY_STRANGERS,
  SEALED_HEADER_SIZE,
  SEALED_MAC1_SIZE,
  SEALED_OVERHEAD,
  SHARED_KEY_CACHE_SIZE,
  TYPE_SEALED,
} from './constants.js';
import { decodeInnerMessage, encodeInnerMessage, type InnerMessage } from './innerMessage.js';
import { ReplayGuard } from './replayGuard.js';

export type SealedDropReason =
  | 'wrongType'
  | 'tooShort'
  | 'tooLarge'
  | 'badMac1'
  | 'badPublicKey'
  | 'fromSelf'
  | 'decryptFailed'
  | 'reflected'
  | 'unknownKind'
  | 'malformed'
  | 'stale'
  | 'future'
  | 'replayed';

/** What screen() found: a datagram that may be worth opening, and the key it claims to be from. */
export type Screened = { ok: true; senderPublicKey: Uint8Array } | { ok: false; reason: SealedDropReason };

export type Opened =
  | {
      ok: true;
      senderPublicKey: Uint8Array;
      message: InnerMessage;
      sentAt: number;
      /** Only for a 'stranger' whose clock is outside the budget: the message is authentic, not fresh. */
      skewMs?: number;
    }
  /** `skewMs` (the sender's clock minus ours) is set for 'stale' and 'future'. */
  | { ok: false; reason: SealedDropReason; senderPublicKey?: Uint8Array; skewMs?: number };

/**
 * How the caller knows the sender. 'member' (in the roster): its box key is cached, and its
 * messages are checked against its own replay state. 'stranger' (a would-be joiner, or the inviter
 * as the joiner sees it): nothing is cached, replay state goes to a small table of its own that can
 * never push a member's out, and a message outside the clock-skew budget is still returned (marked
 * with `skewMs`, never recorded) so the join protocol can tell the other side how far off it is.
 */
export type SenderStanding = 'member' | 'stranger';

export interface OpenOptions {
  readonly standing?: SenderStanding;
}

export interface SealedChannelOptions {
  /** This node's WireGuard X25519 key pair. */
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly random?: RandomSource;
  readonly maxSkewMs?: number;
}

const MAC1_LABEL = new TextEncoder().encode('overlay sealed mac1 v1');
const SIGMA = new TextEncoder().encode('expand 32-byte k');
const ZERO_NONCE = new Uint8Array(16);
/** The header, box tag, mac1 and an inner header: nothing shorter can be a sealed message. */
const SMALLEST = SEALED_OVERHEAD + 18;

/** The key of mac1 for datagrams to `receiverPublicKey`: anyone who knows that key can compute it. */
export function mac1Key(receiverPublicKey: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(MAC1_LABEL).update(receiverPublicKey).digest());
}

function mac1(key: Uint8Array, bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHmac('sha256', key).update(bytes).digest().subarray(0, SEALED_MAC1_SIZE));
}

/**
 * NaCl's crypto_box_beforenm (HSalsa20 of the X25519 result) with the X25519 done by OpenSSL:
 * tweetnacl's pure-JavaScript scalar multiplication took 0.59 ms, long enough for junk to fill the
 * event loop. Null for a low-order key, whose shared secret anyone could compute.
 */
export function sharedBoxKey(peerPublicKey: Uint8Array, privateKey: Uint8Array): Uint8Array | null {
  const shared = dh(privateKey, peerPublicKey);
  if (shared === null) return null;
  const key = new Uint8Array(32);
  (nacl as unknown as NaclLowLevel).lowlevel.crypto_core_hsalsa20(key, ZERO_NONCE, shared, SIGMA);
  shared.fill(0);
  return key;
}

/**
 * Nonces and message ids for seal(): public values that must never repeat, so CSPRNG bytes, drawn
 * 4 KiB at a time — one randomBytes call per seal cost more than the box itself (bench:scale). Each
 * byte is handed out once.
 */
function pooledRandom(): RandomSource {
  const POOL = 4096;
  let pool = new Uint8Array(0);
  let at = 0;
  return (length) => {
    if (length > POOL) return secureRandom(length);
    if (at + length > pool.length) {
      pool = randomFillSync(new Uint8Array(POOL));
      at = 0;
    }
    at += length;
    return pool.slice(at - length, at);
  };
}

interface NaclLowLevel {
  lowlevel: { crypto_core_hsalsa20(out: Uint8Array, input: Uint8Array, k: Uint8Array, c: Uint8Array): void };
}

/** Seals and opens this node's overlay messages; one per node, shared by gossip, join and discovery. */
export class SealedChannel {
  private readonly random: RandomSource;
  private readonly replay: ReplayGuard;
  private readonly strangers: ReplayGuard;
  /**
   * member key (hex) → box key and the mac1 key of datagrams to it; a Map re-inserted on use is a
   * small LRU. Members only.
   */
  private readonly boxKeys = new Map<string, { box: Uint8Array; mac1: Uint8Array }>();
  private readonly ownMac1Key: Uint8Array;

  constructor(private readonly options: SealedChannelOptions) {
    this.random = options.random ?? pooledRandom();
    const skew = options.maxSkewMs === undefined ? {} : { maxSkewMs: options.maxSkewMs };
    this.replay = new ReplayGuard(skew);
    this.strangers = new ReplayGuard({ ...skew, senders: REPLAY_STRANGERS });
    this.ownMac1Key = mac1Key(options.publicKey);
  }

  /**
   * A datagram for `receiverPublicKey`; `now` is wall-clock ms. A reply to a would-be joiner is
   * sealed as to a 'stranger', so strangers never take a place in the members' key cache.
   */
  seal(
    receiverPublicKey: Uint8Array,
    message: InnerMessage,
    now: number,
    standing: SenderStanding = 'member',
  ): Uint8Array {
    const keys =
      standing === 'member'
        ? this.memberKeys(receiverPublicKey)
        : { box: sharedBoxKey(receiverPublicKey, this.options.privateKey), mac1: mac1Key(receiverPublicKey) };
    const key = keys?.box ?? null;
    if (key === null) throw new OverlayError('EINTERNAL', 'cannot seal to a low-order public key');
    const inner = encodeInnerMessage(message);
    const plain = new ByteWriter(inner.length + 18)
      .u8(direction(this.options.publicKey, receiverPublicKey))
      .u53(Math.floor(now))
      .bytes(this.random(MESSAGE_ID_SIZE).subarray(0, MESSAGE_ID_SIZE))
      .bytes(inner)
      .finish();
    const nonce = this.random(BOX_NONCE_SIZE).slice(0, BOX_NONCE_SIZE);
    const boxed = nacl.box.after(plain, nonce, key);
    if (standing === 'stranger') key.fill(0);
    const macAt = SEALED_HEADER_SIZE + boxed.length;
    const out = new Uint8Array(macAt + SEALED_MAC1_SIZE);
    if (out.length > MAX_DATAGRAM) throw new OverlayError('EINTERNAL', `sealed ${message.kind} too large`);
    out[0] = TYPE_SEALED;
    out.set(this.options.publicKey, 1);
    out.set(nonce, 1 + PUBLIC_KEY_SIZE);
    out.set(boxed, SEALED_HEADER_SIZE);
    out.set(mac1(keys!.mac1, out.subarray(0, macAt)), macAt);
    return out;
  }

  /**
   * The checks that cost no secret-key work and change no state: type, size, mac1, and that the
   * header names a key other than ours. What passes is worth opening only if the caller knows the
   * key it claims to be from.
   */
  screen(datagram: Uint8Array): Screened {
    if (datagram[0] !== TYPE_SEALED) return { ok: false, reason: 'wrongType' };
    if (datagram.length < SMALLEST) return { ok: false, reason: 'tooShort' };
    if (datagram.length > MAX_DATAGRAM) return { ok: false, reason: 'tooLarge' };
    const macAt = datagram.length - SEALED_MAC1_SIZE;
    if (!nacl.verify(mac1(this.ownMac1Key, datagram.subarray(0, macAt)), datagram.subarray(macAt))) {
      return { ok: false, reason: 'badMac1' };
    }
    const sender = datagram.slice(1, 1 + PUBLIC_KEY_SIZE);
    if (nacl.verify(sender, this.options.publicKey)) return { ok: false, reason: 'fromSelf' };
    return { ok: true, senderPublicKey: sender };
  }

  /**
   * Opens a datagram: screen(), then the box, the inner header and, for a member, its replay
   * state. Only a message that authenticates, decodes and is fresh is remembered.
   */
  open(datagram: Uint8Array, now: number, options: OpenOptions = {}): Opened {
    const screened = this.screen(datagram);
    if (!screened.ok) return screened;
    const sender = screened.senderPublicKey;
    const standing = options.standing ?? 'member';
    const key =
      standing === 'member'
        ? (this.memberKeys(sender)?.box ?? null)
        : sharedBoxKey(sender, this.options.privateKey);
    if (key === null) return { ok: false, reason: 'badPublicKey' };
    const nonce = datagram.subarray(1 + PUBLIC_KEY_SIZE, SEALED_HEADER_SIZE);
    const plain = nacl.box.open.after(
      datagram.subarray(SEALED_HEADER_SIZE, datagram.length - SEALED_MAC1_SIZE),
      nonce,
      key,
    );
    if (standing === 'stranger') key.fill(0);
    if (plain === null) return { ok: false, reason: 'decryptFailed' };
    const r = new ByteReader(plain);
    const dir = r.u8();
    const sentAt = r.u53();
    const messageId = r.take(MESSAGE_ID_SIZE);
    const inner = r.rest();
    if (!r.ok) return { ok: false, reason: 'malformed' };
    if (dir !== direction(sender, this.options.publicKey)) return { ok: false, reason: 'reflected' };
    const decoded = decodeInnerMessage(inner);
    if (!decoded.ok) return decoded;
    const guard = standing === 'member' ? this.replay : this.strangers;
    if (standing === 'stranger' && guard.timeVerdict(sentAt, now) !== 'fresh') {
      return { ok: true, senderPublicKey: sender, message: decoded.message, sentAt, skewMs: sentAt - now };
    }
    const verdict = guard.check(hex(sender), hex(messageId), sentAt, now);
    if (verdict === 'stale' || verdict === 'future') {
      // Told apart from late messages by the clock alone: one within the budget that is stale
      // merely came late, and says nothing about clocks.
      const skewed = guard.timeVerdict(sentAt, now) !== 'fresh';
      return { ok: false, reason: verdict, senderPublicKey: sender, ...(skewed && { skewMs: sentAt - now }) };
    }
    if (verdict !== 'fresh') return { ok: false, reason: verdict, senderPublicKey: sender };
    return { ok: true, senderPublicKey: sender, message: decoded.message, sentAt };
  }

  /** A member that left: its cached box key and replay state go. */
  forget(publicKey: Uint8Array): void {
    const id = hex(publicKey);
    this.boxKeys.get(id)?.box.fill(0);
    this.boxKeys.delete(id);
    this.replay.forget(id);
  }

  /** Sizes of what the channel keeps, for tests and status. */
  get sizes(): { boxKeys: number; senders: number; strangers: number; messageIds: number } {
    return {
      boxKeys: this.boxKeys.size,
      senders: this.replay.size,
      strangers: this.strangers.size,
      messageIds: this.replay.ids + this.strangers.ids,
    };
  }

  /**
   * One X25519 (and one mac1 key) per member while it stays in the cache; null for a low-order
   * (forgeable) key.
   */
  private memberKeys(peer: Uint8Array): { box: Uint8Array; mac1: Uint8Array } | null {
    if (peer.length !== PUBLIC_KEY_SIZE) return null;
    const id = hex(peer);
    const cached = this.boxKeys.get(id);
    if (cached !== undefined) {
      this.boxKeys.delete(id);
      this.boxKeys.set(id, cached);
      return cached;
    }
    const box = sharedBoxKey(peer, this.options.privateKey);
    if (box === null) return null;
    if (this.boxKeys.size >= SHARED_KEY_CACHE_SIZE) {
      const oldest = this.boxKeys.keys().next().value;
      if (oldest !== undefined) {
        this.boxKeys.get(oldest)?.box.fill(0);
        this.boxKeys.delete(oldest);
      }
    }
    const keys = { box, mac1: mac1Key(peer) };
    this.boxKeys.set(id, keys);
    return keys;
  }
}

/** "b's messages are 75 s ahead of this node's clock": for logs and join errors. */
export function skewMessage(who: string, skewMs: number): string {
  return `${who}'s clock is ${describeSkew(skewMs)} this node's`;
}

/** 0 if `from` sorts before `to` bytewise, else 1; both ends compute the same for a given direction. */
function direction(from: Uint8Array, to: Uint8Array): number {
  return Buffer.compare(from, to) < 0 ? 0 : 1;
}
