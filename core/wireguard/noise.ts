/**
 * The Noise_IKpsk2 handshake of whitepaper §5.4.2–§5.4.5, as pure functions: keys, indices, randomness
 * and the timestamp come in as arguments, message bytes and derived keys go out. mac1/mac2 are left
 * zero here and stamped by cookie.ts, because they depend on cookie state, not on the handshake.
 */
import { AEAD_TAG_SIZE, CONSTRUCTION, IDENTIFIER, KEY_SIZE, TIMESTAMP_SIZE } from './constants.js';
import { encodeInitiation, encodeResponse, type Initiation, type Parsed, type Response } from './messages.js';
import { aeadOpen, aeadSeal, dh, hash, type KeyPair, kdf1, kdf2, kdf3, zero } from './primitives.js';

const text = new TextEncoder();
/** whitepaper §5.4.2: Ci = HASH(Construction), Hi = HASH(Ci ‖ Identifier) — the same for every handshake. */
const INITIAL_CHAINING_KEY = hash(text.encode(CONSTRUCTION));
const INITIAL_HASH = hash(INITIAL_CHAINING_KEY, text.encode(IDENTIFIER));
const EMPTY = new Uint8Array(0);
const NO_PSK = new Uint8Array(KEY_SIZE);

/** What the initiator keeps between sending message 1 and receiving message 2. */
export interface InitiatorHandshake {
  readonly localIndex: number;
  readonly remoteStatic: Uint8Array;
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
  readonly ephemeralPrivate: Uint8Array;
}

/** What the responder learns from a valid message 1. */
export interface ResponderHandshake {
  readonly remoteIndex: number;
  readonly remoteStatic: Uint8Array;
  readonly remoteEphemeral: Uint8Array;
  /** Decrypted TAI64N; the caller checks it is newer than the last accepted one (whitepaper §5.1). */
  readonly timestamp: Uint8Array;
  readonly chainingKey: Uint8Array;
  readonly hash: Uint8Array;
}

/** Transport keys from one side's point of view (whitepaper §5.4.5). */
export interface TransportKeys {
  readonly sendKey: Uint8Array;
  readonly receiveKey: Uint8Array;
}

export function zeroInitiator(h: InitiatorHandshake): void {
  zero(h.chainingKey, h.hash, h.ephemeralPrivate);
}

export function zeroResponder(h: ResponderHandshake): void {
  zero(h.chainingKey, h.hash);
}

/** whitepaper §5.4.2: builds message 1; null if the peer's static key is a low-order point. */
export function createInitiation(params: {
  local: KeyPair;
  remoteStatic: Uint8Array;
  localIndex: number;
  ephemeral: KeyPair;
  timestamp: Uint8Array;
}): { message: Uint8Array; handshake: InitiatorHandshake } | null {
  const { local, remoteStatic, ephemeral } = params;
  let h = hash(INITIAL_HASH, remoteStatic);
  let c = kdf1(INITIAL_CHAINING_KEY, ephemeral.publicKey);
  h = hash(h, ephemeral.publicKey);

  const es = dh(ephemeral.privateKey, remoteStatic);
  if (!es) return null;
  let [c2, k] = kdf2(c, es);
  zero(c, es);
  c = c2;
  const encryptedStatic = aeadSeal(k, 0n, local.publicKey, h);
  zero(k);
  h = hash(h, encryptedStatic);

  const ss = dh(local.privateKey, remoteStatic);
  if (!ss) return null;
  [c2, k] = kdf2(c, ss);
  zero(c, ss);
  c = c2;
  const encryptedTimestamp = aeadSeal(k, 0n, params.timestamp, h);
  zero(k);
  h = hash(h, encryptedTimestamp);

  const message = encodeInitiation({
    senderIndex: params.localIndex,
    ephemeral: ephemeral.publicKey,
    encryptedStatic,
    encryptedTimestamp,
  });
  return {
    message,
    handshake: {
      localIndex: params.localIndex,
      remoteStatic,
      chainingKey: c,
      hash: h,
      ephemeralPrivate: ephemeral.privateKey.slice(),
    },
  };
}

/**
 * whitepaper §5.4.2 from the responder's side: decrypts the initiator's static key and timestamp.
 * The caller must still look the static key up among its peers and check the timestamp.
 */
export function consumeInitiation(local: KeyPair, msg: Initiation): Parsed<ResponderHandshake> {
  let h = hash(INITIAL_HASH, local.publicKey);
  let c = kdf1(INITIAL_CHAINING_KEY, msg.ephemeral);
  h = hash(h, msg.ephemeral);

  const es = dh(local.privateKey, msg.ephemeral);
  if (!es) return { ok: false, reason: 'badPublicKey' };
  let [c2, k] = kdf2(c, es);
  zero(c, es);
  c = c2;
  const remoteStatic = aeadOpen(k, 0n, msg.encryptedStatic, h);
  zero(k);
  if (!remoteStatic || remoteStatic.length !== KEY_SIZE) {
    zero(c);
    return { ok: false, reason: 'decryptFailed' };
  }
  h = hash(h, msg.encryptedStatic);

  const ss = dh(local.privateKey, remoteStatic);
  if (!ss) {
    zero(c);
    return { ok: false, reason: 'badPublicKey' };
  }
  [c2, k] = kdf2(c, ss);
  zero(c, ss);
  c = c2;
  const timestamp = aeadOpen(k, 0n, msg.encryptedTimestamp, h);
  zero(k);
  if (!timestamp || timestamp.length !== TIMESTAMP_SIZE) {
    zero(c);
    return { ok: false, reason: 'decryptFailed' };
  }
  h = hash(h, msg.encryptedTimestamp);

  return {
    ok: true,
    value: {
      remoteIndex: msg.senderIndex,
      remoteStatic,
      remoteEphemeral: msg.ephemeral,
      timestamp,
      chainingKey: c,
      hash: h,
    },
  };
}

/**
 * whitepaper §5.4.3 + §5.4.5: builds message 2 and the responder's transport keys. The handshake
 * state is zeroed afterwards: it must never be used twice. Null on a low-order remote key.
 */
export function createResponse(
  handshake: ResponderHandshake,
  params: { localIndex: number; ephemeral: KeyPair; presharedKey?: Uint8Array | undefined },
): { message: Uint8Array; keys: TransportKeys } | null {
  const { ephemeral } = params;
  let c = kdf1(handshake.chainingKey, ephemeral.publicKey);
  let h = hash(handshake.hash, ephemeral.publicKey);
  zeroResponder(handshake);

  const ee = dh(ephemeral.privateKey, handshake.remoteEphemeral);
  const se = ee && dh(ephemeral.privateKey, handshake.remoteStatic);
  if (!ee || !se) {
    zero(c, ee ?? undefined);
    return null;
  }
  let next = kdf1(c, ee);
  zero(c, ee);
  c = next;
  next = kdf1(c, se);
  zero(c, se);
  c = next;

  const [c3, tau, k] = kdf3(c, params.presharedKey ?? NO_PSK);
  zero(c);
  h = hash(h, tau);
  zero(tau);
  const encryptedNothing = aeadSeal(k, 0n, EMPTY, h);
  zero(k, h);

  // whitepaper §5.4.5: the responder receives with the first key and sends with the second.
  const [receiveKey, sendKey] = kdf2(c3, EMPTY);
  zero(c3);
  const message = encodeResponse({
    senderIndex: params.localIndex,
    receiverIndex: handshake.remoteIndex,
    ephemeral: ephemeral.publicKey,
    encryptedNothing,
  });
  return { message, keys: { sendKey, receiveKey } };
}

/**
 * whitepaper §5.4.3 + §5.4.5 from the initiator's side. On success the handshake state is zeroed; on
 * failure it is kept, so a forged response cannot cancel a genuine handshake in flight.
 */
export function consumeResponse(
  handshake: InitiatorHandshake,
  local: KeyPair,
  msg: Response,
  presharedKey?: Uint8Array,
): Parsed<{ remoteIndex: number; keys: TransportKeys }> {
  if (msg.encryptedNothing.length !== AEAD_TAG_SIZE) return { ok: false, reason: 'badLength' };
  let c = kdf1(handshake.chainingKey, msg.ephemeral);
  let h = hash(handshake.hash, msg.ephemeral);

  const ee = dh(handshake.ephemeralPrivate, msg.ephemeral);
  const se = ee && dh(local.privateKey, msg.ephemeral);
  if (!ee || !se) {
    zero(c, ee ?? undefined);
    return { ok: false, reason: 'badPublicKey' };
  }
  let next = kdf1(c, ee);
  zero(c, ee);
  c = next;
  next = kdf1(c, se);
  zero(c, se);
  c = next;

  const [c3, tau, k] = kdf3(c, presharedKey ?? NO_PSK);
  zero(c);
  h = hash(h, tau);
  zero(tau);
  const opened = aeadOpen(k, 0n, msg.encryptedNothing, h);
  zero(k, h);
  if (!opened) {
    zero(c3);
    return { ok: false, reason: 'decryptFailed' };
  }
  const [sendKey, receiveKey] = kdf2(c3, EMPTY);
  zero(c3);
  zeroInitiator(handshake);
  return { ok: true, value: { remoteIndex: msg.senderIndex, keys: { sendKey, receiveKey } } };
}
