/**
 * Ed25519 (RFC 8032) through Node's OpenSSL: the same keys and signatures as tweetnacl's
 * nacl.sign (64-byte secret key = seed ‖ public key), but native speed — a roster verifies
 * every record gossip brings — and OpenSSL rejects non-canonical signatures (S ≥ L, RFC 8032
 * §5.1.7), which tweetnacl accepts, so one signed message has one valid signature.
 */
import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign, verify } from 'node:crypto';

export const PUBLIC_KEY_SIZE = 32;
export const SECRET_KEY_SIZE = 64;
export const SIGNATURE_SIZE = 64;

const b64url = (b: Uint8Array) => Buffer.from(b).toString('base64url');

/** Verifying keys seen recently: a roster checks the same few issuers over and over. */
const publicKeys = new Map<string, KeyObject>();
const MAX_CACHED_KEYS = 4096;

function publicKeyObject(key: Uint8Array): KeyObject {
  const id = b64url(key);
  let object = publicKeys.get(id);
  if (!object) {
    object = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: id }, format: 'jwk' });
    if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear();
    publicKeys.set(id, object);
  }
  return object;
}

/** RFC 8410 PKCS#8 header of an Ed25519 private key; the 32-byte seed follows. */
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/** From the seed alone: a secret key whose second half lies cannot make signatures under another key. */
function privateKeyObject(secretKey: Uint8Array): KeyObject {
  if (
    !(secretKey instanceof Uint8Array) ||
    (secretKey.length !== SECRET_KEY_SIZE && secretKey.length !== 32)
  ) {
    throw new RangeError('an Ed25519 secret key is 64 bytes (seed and public key)');
  }
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, secretKey.subarray(0, 32)]),
    format: 'der',
    type: 'pkcs8',
  });
}

/** The key pair of a 32-byte seed, in tweetnacl's layout. */
export function keyPairFromSeed(seed: Uint8Array): { publicKey: Uint8Array; secretKey: Uint8Array } {
  if (seed.length !== 32) throw new RangeError('an Ed25519 seed is 32 bytes');
  const x = createPublicKey(privateKeyObject(seed)).export({ format: 'jwk' }).x!;
  const publicKey = new Uint8Array(Buffer.from(x, 'base64url'));
  const secretKey = new Uint8Array(SECRET_KEY_SIZE);
  secretKey.set(seed, 0);
  secretKey.set(publicKey, 32);
  return { publicKey, secretKey };
}

/** The public key of a tweetnacl-layout secret key, derived from its seed (never trusted from its tail). */
export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  const x = createPublicKey(privateKeyObject(secretKey)).export({ format: 'jwk' }).x!;
  return new Uint8Array(Buffer.from(x, 'base64url'));
}

export function signDetached(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return new Uint8Array(sign(null, message, privateKeyObject(secretKey)));
}

/**
 * (key, message, signature) triples already verified in this process, keyed by a hash of their bytes.
 * Gossip hands the same record to a node many times, and a simulation runs hundreds of rosters in
 * one process: each record's signature is then checked once. Only successes are kept, so a flood
 * of forgeries cannot turn one into a success; the bound keeps memory flat.
 */
const verified = new Set<string>();
const MAX_VERIFIED = 16384;

/** Never throws: a malformed key or signature is simply not valid. */
export function verifyDetached(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== SIGNATURE_SIZE || publicKey.length !== PUBLIC_KEY_SIZE) return false;
  // SHA-256 of the fixed-size key and signature and the message: collision resistance makes a hit
  // mean these exact bytes were verified before.
  const id = createHash('sha256').update(publicKey).update(signature).update(message).digest('base64');
  if (verified.has(id)) return true;
  let key: KeyObject;
  try {
    key = publicKeyObject(publicKey);
  } catch {
    return false; // not a point on the curve
  }
  if (!verify(null, message, key, signature)) return false;
  if (verified.size >= MAX_VERIFIED) verified.clear();
  verified.add(id);
  return true;
}
