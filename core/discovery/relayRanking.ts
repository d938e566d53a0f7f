/**
 * Which members may relay for us, best first: willing (not --no-relay), reached directly by us,
 * public ones first, then by RTT. Every path holds up to MAX_RELAYS_PER_PEER of them as routes
 * (PeerPath.setRelays).
 *
 * Ranked again only when it may have changed: at once when a member's direct path came, went or
 * moved (the node says so: invalidate), and otherwise at most every RELAY_RANK_MS for the RTTs. A
 * path keeps the relays it holds while they stay options, so a new ranking matters only to paths
 * that take a relay next; a change in *which* members are options matters to every path, and is
 * reported (`changed`) so Discovery offers the new list to them all.
 */
import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { RELAY_RANK_MS } from './constants.js';
import { isPublicEndpoint } from './endpointClass.js';
import type { RelayOption } from './pathTypes.js';

/** What ranking reads of a member (a DiscoveryPeer). */
export interface RelayMember {
  readonly id: PeerId;
  readonly name: string;
  readonly candidates: readonly Endpoint[];
  readonly relay: boolean;
}

export interface RelayRankingContext {
  readonly members: () => Iterable<RelayMember>;
  /** Where we reach member `id` directly; undefined when we do not. */
  readonly directEndpoint: (id: PeerId) => Endpoint | undefined;
  /** The smoothed RTT of our path to `id`, if it answered. */
  readonly rttMs: (id: PeerId) => number | undefined;
}

export interface Ranked {
  readonly options: readonly RelayOption[];
  readonly ids: ReadonlySet<PeerId>;
  /** Whether the set of members in `options` differs from the previous ranking's. */
  readonly changed: boolean;
}

export class RelayRanking {
  private options: RelayOption[] = [];
  private ids: ReadonlySet<PeerId> = new Set();
  private rankedAt = Number.NEGATIVE_INFINITY;
  private dirty = true;
  /** Per member: whether its record (this list of candidates) names a public address. */
  private readonly publicOf = new Map<PeerId, { candidates: readonly Endpoint[]; record: boolean }>();

  constructor(private readonly context: RelayRankingContext) {}

  /** A member's direct path came, went or moved, or the members changed: rank again at once. */
  invalidate(): void {
    this.dirty = true;
  }

  forget(id: PeerId): void {
    this.publicOf.delete(id);
    this.dirty = true;
  }

  /** The ranking as of `now`: the cached one unless something moved or it is RELAY_RANK_MS old. */
  current(now: number): Ranked {
    if (!this.dirty && now - this.rankedAt < RELAY_RANK_MS && now >= this.rankedAt)
      return { options: this.options, ids: this.ids, changed: false };
    this.dirty = false;
    this.rankedAt = now;
    const ranked: { option: RelayOption; rtt: number }[] = [];
    for (const peer of this.context.members()) {
      const endpoint = this.context.directEndpoint(peer.id);
      if (!peer.relay || endpoint === undefined) continue;
      const rtt = this.context.rttMs(peer.id) ?? 1_000;
      ranked.push({ option: { id: peer.id, name: peer.name, public: this.isPublic(peer, endpoint) }, rtt });
    }
    ranked.sort((a, b) => Number(b.option.public) - Number(a.option.public) || a.rtt - b.rtt);
    const options = ranked.map((o) => o.option);
    const ids = new Set(options.map((o) => o.id));
    const changed = ids.size !== this.ids.size || options.some((o) => !this.ids.has(o.id));
    this.options = options;
    this.ids = ids;
    return { options, ids, changed };
  }

  /**
   * Whether a member is on a public address: its endpoint record names one, or the endpoint we reach
   * it at is one. A record is looked through once, not at every ranking.
   */
  private isPublic(peer: RelayMember, endpoint: Endpoint): boolean {
    let known = this.publicOf.get(peer.id);
    if (known === undefined || known.candidates !== peer.candidates) {
      known = { candidates: peer.candidates, record: peer.candidates.some(isPublicEndpoint) };
      this.publicOf.set(peer.id, known);
    }
    return known.record || isPublicEndpoint(endpoint);
  }
}
