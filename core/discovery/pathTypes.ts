/**
 * The shapes discovery hands the node and `overlay status`. Peers are named by their PeerId
 * (core/base/keys.ts), endpoints are parsed `Endpoint`s (core/base/endpoint.ts); only the snapshots,
 * which are `overlay status` JSON, carry endpoints as text.
 */
import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { CandidateKind } from './candidateSet.js';
import type { DiscoveryMessage } from './messages.js';
import type { NatBehaviour } from './natBehaviour.js';

/**
 * What a route's evidence says of it: answering; idle (its last probe was answered, but not
 * recently, as none went out since: an idle path is pinged every IDLE_HEARTBEAT_MS, and perhaps
 * only by the peer); not answering (a probe went unanswered); or not tried yet.
 */
export type RouteState = 'ok' | 'idle' | 'no-answer' | 'untried';

/** Where the node sends a peer's traffic: a direct UDP endpoint, through a relay member, or nowhere yet. */
export type PathChoice =
  | { readonly path: 'direct'; readonly endpoint: Endpoint }
  | { readonly path: 'relay'; readonly via: PeerId }
  | { readonly path: 'none' };

export type PathReason =
  | 'start'
  | 'direct-found'
  | 'direct-returned'
  | 'better-rtt'
  | 'roamed'
  | 'direct-lost'
  | 'relay-while-probing'
  | 'no-direct-answer'
  | 'relay-lost'
  | 'peer-left' // it said bye (down, leave)
  | 'unreachable' // every route went quiet: the peer is offline, or cut off from all of us
  | 'peer-removed';

export type PathChanged = PathChoice & {
  readonly peer: PeerId;
  readonly reason: PathReason;
  readonly at: number;
};

/** A member that may carry traffic for us: not opted out (--no-relay), reached directly by us. */
export interface RelayOption {
  readonly id: PeerId;
  readonly name: string;
  /** Has a public (non-LAN) address: reachable by most members, so preferred. */
  readonly public: boolean;
}

export interface CandidateSnapshot {
  /** The endpoint's text, or "via NAME" for a relay. */
  readonly endpoint: string;
  readonly kind: CandidateKind | 'relay';
  readonly via?: PeerId;
  readonly source: 'announced' | 'introduced' | 'observed' | 'relay';
  readonly state: RouteState;
  readonly tries: number;
  readonly rttMs?: number;
  readonly lossPct?: number;
  readonly lastAnswerAgeMs?: number;
  /** Since the peer's last authenticated ping from this endpoint (a direct route): it gets out. */
  readonly lastHeardAgeMs?: number;
}

/** For `overlay status`: the path in use and the evidence behind it ("why is this link relayed?"). */
export interface PathSnapshot {
  readonly peer: PeerId;
  readonly path: 'direct' | 'relay' | 'none';
  readonly via?: PeerId;
  readonly viaName?: string;
  readonly endpoint?: string;
  readonly reason: PathReason;
  readonly sinceMs: number;
  readonly rttMs?: number;
  readonly lossPct?: number;
  readonly evidenceAgeMs?: number;
  readonly natSelf: NatBehaviour;
  readonly sameNat: boolean;
  readonly candidates: readonly CandidateSnapshot[];
  readonly timeToDirectMs?: number;
}

/** Where a discovery message came from: a UDP endpoint, or through relay member `via`. */
export type Source = { readonly endpoint: Endpoint } | { readonly via: PeerId };

export interface DiscoverySend {
  /** The member to seal `message` for. */
  readonly to: PeerId;
  /** The UDP endpoint to send to: `to`'s, or the relay's when `via` is set. */
  readonly endpoint: Endpoint;
  /** Send it through this relay member, in the data path's envelopes. */
  readonly via?: PeerId;
  /** Send it from this hole (an extra socket opened for `to`, birthday.ts), not the main socket. */
  readonly hole?: number;
  /**
   * Send it from a socket opened for this datagram (filterTest.ts: a port the addressee never sent
   * to), which then listens FILTER_KNOCK_WAIT_MS for the addressee's knock, and closes. The filter
   * test's 'port' word after it to the same member carries the last such socket's port in place of
   * FRESH_PORT. A node that cannot open one sends neither it nor the 'sent' and 'port' words after it.
   */
  readonly fresh?: true;
  /** Send it with this IP TTL: an opener, which must die past our NAT (opening.ts). */
  readonly ttl?: number;
  readonly message: DiscoveryMessage;
}

export type DiscoveryEvent =
  | ({ readonly type: 'pathChanged' } & PathChanged)
  | { readonly type: 'candidatesChanged'; readonly candidates: readonly Endpoint[] }
  /**
   * Close `peer`'s holes (birthday.ts), all but `keep`, the one its traffic now leaves from; or only
   * hole `only` (a filter test's socket, filterTest.ts).
   */
  | { readonly type: 'holesClosed'; readonly peer: PeerId; readonly keep?: number; readonly only?: number };

export interface DiscoveryOutput {
  readonly send: DiscoverySend[];
  readonly events: DiscoveryEvent[];
  readonly nextWakeAt: number;
}
