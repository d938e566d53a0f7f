/**
 * `overlay ping`: one sealed discovery ping to a member over the path its traffic takes, and the
 * pong's round trip and path. The node's paths make the ping and match the pong; sealed messaging
 * carries it.
 */
import type { Member } from '../membership/roster.js';
import type { NodePaths } from './paths.js';
import type { SealedMessaging } from './sealedMessaging.js';

export interface MemberPong {
  rttMs: number;
  endpoint: string;
  path: 'direct' | 'relay';
}

/** Null when no pong comes in time, or the member has no known address. */
export async function pingMember(
  paths: Pick<NodePaths, 'ping'>,
  messaging: Pick<SealedMessaging, 'reachable' | 'send'>,
  member: Member,
  timeoutMs: number,
): Promise<MemberPong | null> {
  if (!messaging.reachable(member.certificate.wireguardKey)) return null;
  const { body, pong } = paths.ping(timeoutMs);
  messaging.send(member.certificate.wireguardKey, { kind: 'discovery', body });
  const answer = await pong;
  if (!answer) return null;
  const relayed = answer.from.startsWith('via ');
  return { rttMs: answer.rttMs, endpoint: answer.from, path: relayed ? 'relay' : 'direct' };
}
