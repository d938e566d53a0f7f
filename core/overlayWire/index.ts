/**
 * overlay's own messages on the WireGuard port: the sealed envelope, its inner messages, and the
 * join protocol. The node classifies each datagram the data path passes up, then hands it on.
 */
import {
  TYPE_JOIN_QUERY,
  TYPE_JOIN_QUERY_REPLY,
  TYPE_RESERVED_FIRST,
  TYPE_RESERVED_LAST,
  TYPE_SEALED,
} from './constants.js';

export type DatagramKind = 'wireguard' | 'sealed' | 'joinQuery' | 'joinQueryReply' | 'reserved' | 'unknown';

/** Which handler a datagram belongs to, by its first byte (WireGuard's types are 1–4). */
export function classifyDatagram(datagram: Uint8Array): DatagramKind {
  const type = datagram[0];
  if (type === undefined) return 'unknown';
  if (type >= 1 && type <= 4) return 'wireguard';
  if (type === TYPE_SEALED) return 'sealed';
  if (type === TYPE_JOIN_QUERY) return 'joinQuery';
  if (type === TYPE_JOIN_QUERY_REPLY) return 'joinQueryReply';
  if (type >= TYPE_RESERVED_FIRST && type <= TYPE_RESERVED_LAST) return 'reserved';
  return 'unknown';
}

export * from './constants.js';
export * from './innerMessage.js';
export { inviterKeyHash } from './inviterKeyHash.js';
export * from './joinAttempt.js';
export * from './joinQuery.js';
export * from './joinResponder.js';
export { ReplayGuard, type ReplayVerdict } from './replayGuard.js';
export * from './sealed.js';
