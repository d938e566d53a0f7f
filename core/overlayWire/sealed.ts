/**
 * Sealed messages: [0x80][sender X25519 public key][nonce 24][NaCl box of the inner message], boxed
 * between the sender's and the receiver's WireGuard keys. Only the holder of the sender key could
 * have made it and only the receiver can read it, so an on-path attacker can neither read nor forge
 * one; the receiver learns the sender's key from the header and the box authenticates it.
 *
 * Inside the box: [direction][sent-at ms u64][message id 8][kind][body]. The box key is the same in
 * both directions, so without the direction byte an attacker could reflect A's message to B back at
 * A under B's key; the byte records which of the two keys (in byte order) sent it.
 */
import nacl from 'tweetnacl';
import { OverlayError } from '../errors.js';
import { type RandomSource, secureRandom } from '../wireguard/primitives.js';
import { ByteReader, ByteWriter, hex } from './byteCodec.js';
import {
  BOX_NONCE_SIZE,
  BOX_TAG_SIZE,
  MAX_DATAGRAM,
  MESSAGE_ID_SIZE,
  PUBLIC_KEY_SIZE,
  REPLAY_CAPACITY,
  REPLAY_WINDOW_MS,
  SEALED_HEADER_SIZE,
  SHARED_KEY_CACHE_SIZE,
  TYPE_SEALED,
} from './constants.js';
import { decodeInnerMessage, encodeInnerMessage, type InnerMessage } from './innerMessage.js';
import { ReplayGuard } from './replayGuard.js';

export type SealedDropReason =
  | 'wrongType'
  | 'tooShort'
  | 'tooLarge'
  | 'badPublicKey'
  | 'fromSelf'
  | 'decryptFailed'
  | 'reflected'
  | 'unknownKind'
  | 'malformed'
  | 'stale'
  | 'future'
  | 'replayed';

export type Opened =
  | { ok: true; senderPublicKey: Uint8Array; message: InnerMessage; sentAt: number }
  | { ok: false; reason: SealedDropReason };

export interface SealedChannelOptions {
  /** This node's WireGuard X25519 key pair. */
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
  readonly random?: RandomSource;
  readonly replayWindowMs?: number;
  readonly replayCapacity?: number;
}

/** nacl.box.before of a low-order point: the key an attacker could compute without our secret. */
const LOW_ORDER_BOX_KEY = nacl.box.before(new Uint8Array(PUBLIC_KEY_SIZE), nacl.box.keyPair().secretKey);

/** Seals and opens this node's overlay messages; one per node, shared by gossip, join and discovery. */
export class SealedChannel {
  private readonly random: RandomSource;
  private readonly replay: ReplayGuard;
  /** sender key (hex) → box key; a Map re-inserted on use is a small LRU. */
  private readonly boxKeys = new Map<string, Uint8Array | null>();
  private readonly selfHex: string;

  constructor(private readonly options: SealedChannelOptions) {
    this.random = options.random ?? secureRandom;
    this.replay = new ReplayGuard(
      options.replayWindowMs ?? REPLAY_WINDOW_MS,
      options.replayCapacity ?? REPLAY_CAPACITY,
    );
    this.selfHex = hex(options.publicKey);
  }

  /** A datagram for `receiverPublicKey`; `now` is wall-clock ms. */
  seal(receiverPublicKey: Uint8Array, message: InnerMessage, now: number): Uint8Array {
    const key = this.boxKey(receiverPublicKey);
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
    const out = new Uint8Array(SEALED_HEADER_SIZE + boxed.length);
    out[0] = TYPE_SEALED;
    out.set(this.options.publicKey, 1);
    out.set(nonce, 1 + PUBLIC_KEY_SIZE);
    out.set(boxed, SEALED_HEADER_SIZE);
    if (out.length > MAX_DATAGRAM) throw new OverlayError('EINTERNAL', `sealed ${message.kind} too large`);
    return out;
  }

  /**
   * Opens a datagram. Checks run cheapest first; only a message that authenticates, decodes and is
   * fresh is remembered by the replay guard, so junk cannot fill its memory with anything but
   * messages from keys the sender holds (bounded by the guard's capacity).
   */
  open(datagram: Uint8Array, now: number): Opened {
    if (datagram[0] !== TYPE_SEALED) return { ok: false, reason: 'wrongType' };
    if (datagram.length < SEALED_HEADER_SIZE + BOX_TAG_SIZE + 18) return { ok: false, reason: 'tooShort' };
    if (datagram.length > MAX_DATAGRAM) return { ok: false, reason: 'tooLarge' };
    const sender = datagram.slice(1, 1 + PUBLIC_KEY_SIZE);
    const senderHex = hex(sender);
    if (senderHex === this.selfHex) return { ok: false, reason: 'fromSelf' };
    const key = this.boxKey(sender);
    if (key === null) return { ok: false, reason: 'badPublicKey' };
    const nonce = datagram.subarray(1 + PUBLIC_KEY_SIZE, SEALED_HEADER_SIZE);
    const plain = nacl.box.open.after(datagram.subarray(SEALED_HEADER_SIZE), nonce, key);
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
    const verdict = this.replay.check(senderHex, hex(messageId), sentAt, now);
    if (verdict !== 'fresh') return { ok: false, reason: verdict };
    return { ok: true, senderPublicKey: sender, message: decoded.message, sentAt };
  }

  /** One X25519 per peer while it stays in the cache; null for a low-order (forgeable) key. */
  private boxKey(peer: Uint8Array): Uint8Array | null {
    if (peer.length !== PUBLIC_KEY_SIZE) return null;
    const id = hex(peer);
    const cached = this.boxKeys.get(id);
    if (cached !== undefined) {
      this.boxKeys.delete(id);
      this.boxKeys.set(id, cached);
      return cached;
    }
    let key: Uint8Array | null = nacl.box.before(peer, this.options.privateKey);
    if (nacl.verify(key, LOW_ORDER_BOX_KEY)) key = null;
    if (this.boxKeys.size >= SHARED_KEY_CACHE_SIZE) {
      const oldest = this.boxKeys.keys().next().value;
      if (oldest !== undefined) this.boxKeys.delete(oldest);
    }
    this.boxKeys.set(id, key);
    return key;
  }
}

/** 0 if `from` sorts before `to` bytewise, else 1; both ends compute the same for a given direction. */
function direction(from: Uint8Array, to: Uint8Array): number {
  return Buffer.compare(from, to) < 0 ? 0 : 1;
}
