import nacl from 'tweetnacl';
import { parseKey } from '../base/keys.js';
import { OverlayError } from '../errors.js';

/** The node's WireGuard key (X25519) and its signing key (Ed25519), raw bytes. */
export interface KeyPairs {
  wireguard: { privateKey: Uint8Array; publicKey: Uint8Array };
  signing: { secretKey: Uint8Array; publicKey: Uint8Array };
}

export function generateKeyPairs(): KeyPairs {
  // nacl.box keys are X25519 (Curve25519) keys, the same as WireGuard's; nacl clamps on use.
  const wg = nacl.box.keyPair();
  const sign = nacl.sign.keyPair();
  return {
    wireguard: { privateKey: wg.secretKey, publicKey: wg.publicKey },
    signing: { secretKey: sign.secretKey, publicKey: sign.publicKey },
  };
}

/** A key read back from the store (core/base/keys.ts parseKey); a damaged one is ESTORE_CORRUPT. */
export function decodeKey(text: string, length: number, what: string): Uint8Array {
  const bytes = parseKey(text, length);
  if (!bytes) throw new OverlayError('ESTORE_CORRUPT', `${what} is not a valid ${length}-byte base64 key`);
  return bytes;
}

/** Checks that each public key belongs to its private key, which catches a damaged key file. */
export function verifyKeyPairs(keys: KeyPairs): void {
  const wgPublic = nacl.scalarMult.base(keys.wireguard.privateKey);
  if (!nacl.verify(wgPublic, keys.wireguard.publicKey)) {
    throw new OverlayError('ESTORE_CORRUPT', 'the WireGuard public key does not match the private key');
  }
  const signPublic = nacl.sign.keyPair.fromSecretKey(keys.signing.secretKey).publicKey;
  if (!nacl.verify(signPublic, keys.signing.publicKey)) {
    throw new OverlayError('ESTORE_CORRUPT', 'the signing public key does not match the secret key');
  }
}
