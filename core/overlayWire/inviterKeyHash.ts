/**
 * The inviter's key as an invite code carries it: 16 bytes of BLAKE2s over a domain label and the
 * inviter's WireGuard public key. Short enough for a typed code, long enough (128 bits) that no one
 * can make a key that matches it; the label keeps this hash apart from every other BLAKE2s use.
 * The invite-code module and the join protocol both use this one function.
 */
import { blake2s } from '@noble/hashes/blake2.js';
import { INVITER_KEY_HASH_SIZE } from './constants.js';

/**
 * The same label as core/membership/inviteCode.ts, which also defines inviterKeyHash: the two must
 * agree byte for byte or no join can succeed (test/overlayWire/inviterKeyHash.test.ts holds them to it).
 */
const DOMAIN = new TextEncoder().encode('overlay invite inviter key v1\0');

export function inviterKeyHash(wireguardPublicKey: Uint8Array): Uint8Array {
  const input = new Uint8Array(DOMAIN.length + wireguardPublicKey.length);
  input.set(DOMAIN, 0);
  input.set(wireguardPublicKey, DOMAIN.length);
  return blake2s(input, { dkLen: INVITER_KEY_HASH_SIZE });
}
