/**
 * Names and secrets for relay envelopes in the data path (native setRelayKey). A member's tag must
 * be the same on every node, because a relay names the original sender and the destination by it,
 * so it is derived from the member's WireGuard public key alone. The pair secret is derived from
 * the DH of the two WireGuard static keys, so both ends hold it without any exchange; it only MACs
 * envelopes (the WireGuard datagram inside keeps its own end-to-end protection).
 *
 * The secret is not the envelope key. The data path derives that from the secret and the two
 * members' relay epochs (16 random bytes each data path draws when it starts, announced in the
 * member's signed endpoint record), and gives all its envelopes one counter: a restart, a kill -9
 * or a key installed again never sends a (key, nonce) pair twice, and a receiver that learns a new
 * epoch starts a new replay window (issue 10, hole 4; native/src/datapath/relay.cc has the
 * derivation and the argument).
 */
import { dh, hash, kdf1 } from '../wireguard/primitives.js';

const TAG_LABEL = new TextEncoder().encode('overlay relay tag v1');
const KEY_LABEL = new TextEncoder().encode('overlay relay pair key v1');
export const RELAY_TAG_BYTES = 8;

/** The 8-byte tag that names member `publicKey` in relay envelopes, network-wide. */
export function relayTag(publicKey: Uint8Array): Uint8Array {
  return hash(TAG_LABEL, publicKey).slice(0, RELAY_TAG_BYTES);
}

/**
 * The 32-byte relay secret this node shares with `peerPublicKey`; null for a key with no usable DH
 * (low-order). The caller must erase it once the data path has been given it.
 */
export function relayPairSecret(privateKey: Uint8Array, peerPublicKey: Uint8Array): Uint8Array | null {
  const shared = dh(privateKey, peerPublicKey);
  if (!shared) return null;
  // HKDF (HMAC-BLAKE2s) with a domain label as salt: the DH result is never used as a key as is,
  // and this secret can never collide with one of WireGuard's own derivations from the same statics.
  const salt = hash(KEY_LABEL);
  const secret = kdf1(salt, shared);
  shared.fill(0);
  return secret;
}
