/**
 * The whitepaper's cryptographic primitives (§5.4): HASH, MAC, HMAC, KDF1/2/3, DH, AEAD, XAEAD, TAI64N.
 * HASH/HMAC/AEAD use Node's OpenSSL (fast); keyed BLAKE2s and XChaCha20-Poly1305 come from @noble.
 * Nothing here throws on bad input from the network: AEAD opens return null instead.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  diffieHellman,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import nacl from 'tweetnacl';
import { AEAD_TAG_SIZE, KEY_SIZE, MAC_SIZE, TIMESTAMP_SIZE } from './constants.js';

/** Source of randomness, injectable so tests can fix ephemeral keys, indices and jitter. */
export type RandomSource = (length: number) => Uint8Array;
export const secureRandom: RandomSource = (length) => new Uint8Array(randomBytes(length));

export function concat(...parts: Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** whitepaper §5.4: HASH(input) = BLAKE2s(input, 32). */
export function hash(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('blake2s256');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

/** whitepaper §5.4: MAC(key, input) = Keyed-BLAKE2s(key, input, 16). */
export function mac(key: Uint8Array, input: Uint8Array): Uint8Array {
  return blake2s(input, { key, dkLen: MAC_SIZE });
}

/** whitepaper §5.4: HMAC(key, input) = HMAC-BLAKE2s(key, input, 32). */
export function hmac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const h = createHmac('blake2s256', key);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const THREE = Uint8Array.of(3);

/** whitepaper §5.4: KDFn is HKDF with HMAC-BLAKE2s and empty info, returning n 32-byte keys. */
export function kdf1(key: Uint8Array, input: Uint8Array): Uint8Array {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  t0.fill(0);
  return t1;
}

export function kdf2(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array] {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  const t2 = hmac(t0, t1, TWO);
  t0.fill(0);
  return [t1, t2];
}

export function kdf3(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const t0 = hmac(key, input);
  const t1 = hmac(t0, ONE);
  const t2 = hmac(t0, t1, TWO);
  const t3 = hmac(t0, t2, THREE);
  t0.fill(0);
  return [t1, t2, t3];
}

export interface KeyPair {
  readonly privateKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** whitepaper §5.4: DH-GENERATE, a fresh Curve25519 key pair (private key clamped as X25519 expects). */
export function generateKeyPair(random: RandomSource = secureRandom): KeyPair {
  if (random === secureRandom) {
    // OpenSSL makes the pair ~20x faster than scalar multiplication in JavaScript, and hands back
    // a key object that dh() then uses directly.
    const { privateKey: keyObject } = generateKeyPairSync('x25519');
    const jwk = keyObject.export({ format: 'jwk' });
    const privateKey = new Uint8Array(Buffer.from(jwk.d!, 'base64url'));
    clamp(privateKey); // X25519 clamps when multiplying, so this names the same key
    keyObjects.set(privateKey, keyObject);
    return { privateKey, publicKey: new Uint8Array(Buffer.from(jwk.x!, 'base64url')) };
  }
  const privateKey = random(KEY_SIZE).slice(0, KEY_SIZE);
  clamp(privateKey);
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

export function clamp(privateKey: Uint8Array): void {
  privateKey[0]! &= 248;
  privateKey[31]! = (privateKey[31]! & 127) | 64;
}

export function publicKeyOf(privateKey: Uint8Array): Uint8Array {
  return nacl.scalarMult.base(privateKey);
}

/**
 * whitepaper §5.4: DH(private, public) = X25519. Returns null for an all-zero result, which only
 * low-order (malicious) public keys produce; a handshake with one must fail rather than proceed
 * with a predictable secret.
 */
export function dh(privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  if (privateKey.length !== KEY_SIZE || publicKey.length !== KEY_SIZE) return null;
  // An erased key must not live on through its cached key object.
  if (privateKey.every((b) => b === 0)) return null;
  let shared: Uint8Array;
  try {
    shared = new Uint8Array(
      diffieHellman({
        privateKey: privateKeyObject(privateKey),
        publicKey: createPublicKey({
          key: Buffer.concat([SPKI_X25519, publicKey]),
          format: 'der',
          type: 'spki',
        }),
      }),
    );
  } catch {
    // OpenSSL refuses to derive an all-zero secret (a low-order public key): that is our null.
    return null;
  }
  let acc = 0;
  for (const b of shared) acc |= b;
  return acc === 0 ? null : shared;
}

/** DER wrappings of raw X25519 keys (RFC 8410), the form OpenSSL imports them in. */
const PKCS8_X25519 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_X25519 = Buffer.from('302a300506032b656e032100', 'hex');

/**
 * OpenSSL key objects for the private keys in use: importing one costs ~0.4 ms, a DH with it
 * ~0.15 ms (tweetnacl: ~1 ms). Keyed by the key's array, so a node's static key is imported once
 * and an ephemeral's object goes away with its array.
 */
const keyObjects = new WeakMap<Uint8Array, KeyObject>();

function privateKeyObject(privateKey: Uint8Array): KeyObject {
  let k = keyObjects.get(privateKey);
  if (!k) {
    k = createPrivateKey({ key: Buffer.concat([PKCS8_X25519, privateKey]), format: 'der', type: 'pkcs8' });
    keyObjects.set(privateKey, k);
  }
  return k;
}

/** whitepaper §5.4: the AEAD nonce is 32 zero bits followed by the 64-bit little-endian counter. */
function aeadNonce(counter: bigint): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64LE(counter, 4);
  return nonce;
}

/** whitepaper §5.4: AEAD(key, counter, plain, authtext) = ChaCha20-Poly1305 (RFC 7539). */
export function aeadSeal(key: Uint8Array, counter: bigint, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  const cipher = createCipheriv('chacha20-poly1305', key, aeadNonce(counter), {
    authTagLength: AEAD_TAG_SIZE,
  });
  cipher.setAAD(ad, { plaintextLength: plain.length });
  const body = cipher.update(plain);
  cipher.final();
  const tag = cipher.getAuthTag();
  const out = new Uint8Array(body.length + AEAD_TAG_SIZE);
  out.set(body, 0);
  out.set(tag, body.length);
  return out;
}

/** Opens an AEAD box; null when it is too short or does not authenticate. */
export function aeadOpen(
  key: Uint8Array,
  counter: bigint,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | null {
  if (sealed.length < AEAD_TAG_SIZE) return null;
  const bodyLength = sealed.length - AEAD_TAG_SIZE;
  const decipher = createDecipheriv('chacha20-poly1305', key, aeadNonce(counter), {
    authTagLength: AEAD_TAG_SIZE,
  });
  decipher.setAuthTag(sealed.subarray(bodyLength));
  decipher.setAAD(ad, { plaintextLength: bodyLength });
  const body = decipher.update(sealed.subarray(0, bodyLength));
  try {
    decipher.final();
  } catch {
    body.fill(0);
    return null;
  }
  return new Uint8Array(body.buffer, body.byteOffset, body.length);
}

/** whitepaper §5.4: XAEAD = XChaCha20-Poly1305 with a random 24-byte nonce (cookie replies). */
export function xaeadSeal(key: Uint8Array, nonce: Uint8Array, plain: Uint8Array, ad: Uint8Array): Uint8Array {
  return xchacha20poly1305(key, nonce, ad).encrypt(plain);
}

export function xaeadOpen(
  key: Uint8Array,
  nonce: Uint8Array,
  sealed: Uint8Array,
  ad: Uint8Array,
): Uint8Array | null {
  try {
    return xchacha20poly1305(key, nonce, ad).decrypt(sealed);
  } catch {
    return null;
  }
}

/**
 * TAI64N label of 2^62 + 10 seconds at the Unix epoch (the libtai convention, TAI = UTC + 10 s then).
 * Only the ordering of timestamps matters to WireGuard (whitepaper §5.1), so the leap-second offset is
 * irrelevant as long as it is constant.
 */
const TAI64_EPOCH = (1n << 62n) + 10n;
/**
 * Nanoseconds are rounded down to this granularity so an initiation does not reveal the sender's clock
 * precisely; ordering per peer still holds because initiations are at least REKEY_TIMEOUT apart.
 */
const TIMESTAMP_GRANULARITY_NS = 1 << 24;
/**
 * Two initiations closer than this may carry the same timestamp, and the responder then takes the
 * second for a replay (whitepaper §5.1): a deliberate resend must wait at least this long.
 */
export const TIMESTAMP_GRANULARITY_MS = Math.ceil(TIMESTAMP_GRANULARITY_NS / 1_000_000);

/** whitepaper §5.4: TAI64N() for a wall-clock time in milliseconds since the Unix epoch. */
export function tai64n(unixMs: number): Uint8Array {
  const out = new Uint8Array(TIMESTAMP_SIZE);
  const view = new DataView(out.buffer);
  const seconds = Math.floor(unixMs / 1000);
  const nanos = (unixMs - seconds * 1000) * 1_000_000;
  view.setBigUint64(0, TAI64_EPOCH + BigInt(seconds));
  view.setUint32(8, Math.floor(nanos / TIMESTAMP_GRANULARITY_NS) * TIMESTAMP_GRANULARITY_NS);
  return out;
}

/** Orders two 12-byte TAI64N timestamps as big-endian integers: negative, zero or positive. */
export function compareTimestamps(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < TIMESTAMP_SIZE; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Compares secrets without an early exit, so timing does not reveal where they differ. */
export function zero(...buffers: (Uint8Array | undefined)[]): void {
  for (const b of buffers) b?.fill(0);
}
