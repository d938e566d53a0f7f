/**
 * Accounting for every datagram a tunnel received, for the flood tests: a datagram is either
 * authenticated transport from a peer (the peer's rxPackets) or ends in exactly one of the
 * counters below — a drop in the data path, a cookie reply in its place, or, for those handed up
 * to JavaScript, what the tunnel made of it (core/tunnel/controlCounts.ts).
 */
import type { TunnelStats } from '../../core/tunnel/tunnel.js';

/** The data path's counters that each end one datagram that was not authenticated transport. */
const DATA_PATH_ENDS = [
  'rxJunk',
  'rxUnknownIndex',
  'rxReplay',
  'rxExpired',
  'rxAuthFailed',
  'rxSealedBadMac',
  'rxOverlayMemberRate',
  'rxOverlayStrangerRate',
  'overlayQueueDropped',
  'rxHandshakeBadMac1',
  'rxHandshakeCookie',
  'rxHandshakeCookieRate',
  'rxHandshakeSourceRate',
  'upQueueDropped',
  'relayDroppedBadMac',
  'relayDroppedReplay',
  'relayDroppedUnknownTag',
  'relayDroppedNotMember',
  'relayDroppedRate',
  'relayDroppedDisabled',
  'relayDroppedMalformed',
  'relayDroppedNoPath',
  'relayDroppedWrongSender',
] as const satisfies readonly (keyof TunnelStats)[];

/** What the tunnel made of the datagrams handed up to it; sums to rxControl once it caught up. */
export function handedUpEnds(s: TunnelStats): number {
  return s.handshakesAccepted + s.overlayMessagesUp + s.stunMessagesUp + s.controlDropped;
}

/** Every end of a datagram that was not authenticated transport. */
export function unauthenticatedEnds(s: TunnelStats): number {
  return DATA_PATH_ENDS.reduce((sum, k) => sum + s[k], 0) + handedUpEnds(s);
}

/** The counters that moved between two snapshots, for a test's log. */
export function movedCounters(after: TunnelStats, before: TunnelStats): Record<string, number> {
  const b = before as unknown as Record<string, number>;
  return Object.fromEntries(
    Object.entries(after as unknown as Record<string, number>)
      .map(([k, v]) => [k, v - (b[k] ?? 0)] as const)
      .filter(([, v]) => v !== 0),
  );
}
