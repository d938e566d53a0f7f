/**
 * Accounting for every datagram a tunnel received, for the flood tests: a datagram is either
 * authenticated transport from a peer (the peer's rxPackets) or ends in exactly one of the
 * counters below — a drop in the data path, a cookie reply in its place, or, for those handed up
 * to JavaScript, what the tunnel made of it (core/tunnel/controlCounts.ts).
 */
import type { ExecutionContext } from 'ava';
import type { TunnelStats } from '../../core/tunnel/types.js';
import type { JsonLinesChild } from './jsonLines.js';

/** What test/fixtures/tunnel-node answers to {"cmd":"status"}. */
export type TunnelNodeStatus = {
  stats: TunnelStats;
  rss: number;
  peers: { rxPackets: number; txPackets: number; handshakes: number }[];
};

export async function tunnelStatus(node: JsonLinesChild, timeoutMs = 10_000): Promise<TunnelNodeStatus> {
  return (await node.request({ cmd: 'status' }, 'status', timeoutMs)) as unknown as TunnelNodeStatus;
}

/** Status once JavaScript has handled everything the data path handed up (bounded wait). */
export async function settledTunnelStatus(node: JsonLinesChild): Promise<TunnelNodeStatus> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const s = await tunnelStatus(node);
    if (s.stats.rxControl === handedUpEnds(s.stats) || Date.now() > deadline) return s;
    await new Promise((r) => setTimeout(r, 200));
  }
}

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
  'relayDroppedStaleKey',
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

/**
 * The flood tests' accounting of a window between two quiet snapshots of a tunnel node with one
 * peer: every datagram `sent` to it arrived or the kernel counted it dropped; every one that
 * arrived was the peer's authenticated transport or ends in exactly one counter; no handshake
 * was taken; and the TUN got exactly the peer's data packets, nothing forged.
 */
export function assertEveryDatagramCounted(
  t: ExecutionContext,
  w: {
    before: TunnelNodeStatus;
    after: TunnelNodeStatus;
    sent: number;
    kernelDropped: number;
    tunDelivered: number;
  },
): void {
  const d = (f: (s: TunnelNodeStatus) => number) => f(w.after) - f(w.before);
  const received = d((s) => s.stats.rxDatagrams);
  const fromPeer = d((s) => s.peers[0]!.rxPackets);
  t.is(received + w.kernelDropped, w.sent, 'datagrams sent = received + kernel drops');
  t.is(
    d((s) => unauthenticatedEnds(s.stats)),
    received - fromPeer,
    'each bad datagram in exactly one counter',
  );
  t.is(
    d((s) => s.stats.handshakesAccepted),
    0,
    'no forged or replayed handshake was taken',
  );
  t.is(w.tunDelivered, fromPeer - d((s) => s.stats.rxKeepalive), 'the TUN got exactly the peer’s packets');
}
