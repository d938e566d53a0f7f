/**
 * The two clear-text join messages. A query names an invite id and nothing else; the reply carries
 * the inviter's public WireGuard key, which the joiner checks against the hash in its invite code
 * before it seals the secret to it. Neither reveals anything a scanner could use: the inviter answers
 * only ids of invites it issued, and the key is public by nature.
 *
 * query: [0x81][id length][id, zero-padded to 32][zero padding to JOIN_QUERY_SIZE]
 * reply: [0x82][id length][id, zero-padded to 32][inviter public key 32]
 * The query is padded larger than the reply, so answering a spoofed source amplifies nothing.
 */
import {
  JOIN_QUERY_REPLY_SIZE,
  JOIN_QUERY_SIZE,
  MAX_INVITE_ID_LENGTH,
  PUBLIC_KEY_SIZE,
  TYPE_JOIN_QUERY,
  TYPE_JOIN_QUERY_REPLY,
} from './constants.js';
import { isInviteId } from './innerMessage.js';

export type JoinQueryDropReason = 'wrongType' | 'badLength' | 'badInviteId';

const ID_FIELD = 1 + 1 + MAX_INVITE_ID_LENGTH;

export function encodeJoinQuery(inviteId: string): Uint8Array {
  const out = new Uint8Array(JOIN_QUERY_SIZE);
  out[0] = TYPE_JOIN_QUERY;
  writeId(out, inviteId);
  return out;
}

export function parseJoinQuery(
  bytes: Uint8Array,
): { ok: true; inviteId: string } | { ok: false; reason: JoinQueryDropReason } {
  if (bytes[0] !== TYPE_JOIN_QUERY) return { ok: false, reason: 'wrongType' };
  if (bytes.length !== JOIN_QUERY_SIZE) return { ok: false, reason: 'badLength' };
  const inviteId = readId(bytes);
  if (inviteId === null) return { ok: false, reason: 'badInviteId' };
  return { ok: true, inviteId };
}

export function encodeJoinQueryReply(inviteId: string, inviterPublicKey: Uint8Array): Uint8Array {
  const out = new Uint8Array(JOIN_QUERY_REPLY_SIZE);
  out[0] = TYPE_JOIN_QUERY_REPLY;
  writeId(out, inviteId);
  out.set(inviterPublicKey, ID_FIELD);
  return out;
}

export function parseJoinQueryReply(
  bytes: Uint8Array,
): { ok: true; inviteId: string; inviterPublicKey: Uint8Array } | { ok: false; reason: JoinQueryDropReason } {
  if (bytes[0] !== TYPE_JOIN_QUERY_REPLY) return { ok: false, reason: 'wrongType' };
  if (bytes.length !== JOIN_QUERY_REPLY_SIZE) return { ok: false, reason: 'badLength' };
  const inviteId = readId(bytes);
  if (inviteId === null) return { ok: false, reason: 'badInviteId' };
  return { ok: true, inviteId, inviterPublicKey: bytes.slice(ID_FIELD, ID_FIELD + PUBLIC_KEY_SIZE) };
}

function writeId(out: Uint8Array, inviteId: string): void {
  const raw = new TextEncoder().encode(inviteId);
  out[1] = raw.length;
  out.set(raw.subarray(0, MAX_INVITE_ID_LENGTH), 2);
}

/** The id, or null if its length, characters or padding are wrong (padding must be zero). */
function readId(bytes: Uint8Array): string | null {
  const length = bytes[1]!;
  if (length === 0 || length > MAX_INVITE_ID_LENGTH) return null;
  for (let i = 2 + length; i < ID_FIELD; i++) if (bytes[i] !== 0) return null;
  const id = Buffer.from(bytes.subarray(2, 2 + length)).toString('latin1');
  return isInviteId(id) ? id : null;
}
