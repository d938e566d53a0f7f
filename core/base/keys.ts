/**
 * Public keys as text, and the one type a peer is known by. A peer is its WireGuard public key
 * (X25519, 32 bytes); wherever a peer is a map key or crosses a layer it is a PeerId, the key's
 * standard base64 (WireGuard's own text form, 44 characters), made only here.
 */
import { fromBase64, toBase64 } from './bytes.js';

/** X25519 and Ed25519 public keys alike. */
export const KEY_SIZE = 32;

/** A peer's WireGuard public key in its text form; only peerId and parsePeerId make one. */
export type PeerId = string & { readonly __brand: 'PeerId' };

/** The text form of a key (any 32-byte public key: WireGuard's, a member's or a network's signing key). */
export function encodeKey(key: Uint8Array): string {
  return toBase64(key);
}

/** The key in `text`, or undefined unless it is the text form of a `length`-byte key. */
export function parseKey(text: string, length = KEY_SIZE): Uint8Array | undefined {
  const bytes = fromBase64(text);
  return bytes?.length === length ? bytes : undefined;
}

/** The peer id of a WireGuard public key; throws on anything but 32 bytes (a bug, not input). */
export function peerId(publicKey: Uint8Array): PeerId {
  if (publicKey.length !== KEY_SIZE)
    throw new RangeError(`a peer key is ${KEY_SIZE} bytes, not ${publicKey.length}`);
  return toBase64(publicKey) as PeerId;
}

/** The peer id in untrusted text (a file, a command line, a message), or undefined if it is not one. */
export function parsePeerId(text: string): PeerId | undefined {
  return parseKey(text) ? (text as PeerId) : undefined;
}

/** The public key a peer id names. */
export function peerKey(id: PeerId): Uint8Array {
  return new Uint8Array(Buffer.from(id, 'base64'));
}
