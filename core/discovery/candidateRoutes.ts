/**
 * The direct routes of one peer's path, and who named each (issue 10, hole 6). A candidate address
 * comes from the peer itself (its signed endpoint record, its call-me-maybes, the source of its
 * authenticated pings) or from an introducer we asked; whoever named it pays, from its ProbeBudget,
 * for pinging it while it has never answered — it may be anyone's address.
 *
 * Never-answered addresses held on one path at most: the record's MAX_CANDIDATES (kept while the peer
 * announces them), MAX_OBSERVED_CANDIDATES seen in its pings, and MAX_UNANSWERED_PER_PEER named in
 * messages — MAX_CANDIDATES per member (its newer list pushes out its older one), and no more than
 * MAX_UNANSWERED_PER_SENDER per member over all paths (ProbeBudget.room). One named in a message is
 * dropped UNANSWERED_CANDIDATE_TTL_MS after it was last named. What is refused or dropped is counted.
 */

import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { type CandidateKind, rankPeerCandidates } from './candidateSet.js';
import {
  MAX_CANDIDATES,
  MAX_OBSERVED_CANDIDATES,
  MAX_UNANSWERED_PER_PEER,
  UNANSWERED_CANDIDATE_TTL_MS,
} from './constants.js';
import { behindNat, endpointKey } from './endpointClass.js';
import { directRoute, PathEvidence } from './pathEvidence.js';
import type { ProbeBudget } from './probeBudget.js';

export interface CandidateRoutesContext {
  readonly peer: PeerId;
  /** The path's routes by key (routeKey), relays included: shared with PeerPath, which decides over them. */
  readonly routes: Map<string, PathEvidence>;
  /** The route in use: never dropped from under the traffic. */
  readonly current: () => PathEvidence | undefined;
  readonly ourReflexiveIps: () => ReadonlySet<string>;
  readonly budget: ProbeBudget;
}

export class CandidateRoutes {
  /** The peer's record's endpoints, by endpointKey (the routes' keys). */
  private announced: ReadonlySet<string> = new Set();
  /** The peer's record names a private address too, or none yet: its public ones are a NAT's, perhaps (opening.ts). */
  behindNat = true;

  constructor(private readonly c: CandidateRoutesContext) {}

  /**
   * The peer's endpoint record (signed by the peer): the list replaces the previous one. `mapped`:
   * those its gateway forwards (port mapping), tried first among its public ones.
   */
  setAnnounced(candidates: readonly Endpoint[], now: number, mapped: readonly Endpoint[] = []): void {
    const listed = candidates.slice(0, MAX_CANDIDATES);
    this.announced = new Set(listed.map(endpointKey));
    for (const [key, e] of this.c.routes) {
      if (e.source === 'announced' && !this.announced.has(key) && e !== this.c.current())
        this.c.routes.delete(key);
    }
    const { ordered } = rankPeerCandidates(listed, this.c.ourReflexiveIps(), mapped);
    this.behindNat = behindNat(listed);
    for (const { endpoint, kind } of ordered) {
      const held = this.c.routes.get(endpointKey(endpoint));
      if (held === undefined) this.add(endpoint, kind, 'announced', this.c.peer, now);
      else {
        if (held.route.type === 'direct' && held.route.kind !== kind) held.route = { ...held.route, kind };
        if (held.source === 'observed') held.source = 'announced';
        held.namedBy = this.c.peer;
        held.namedAt = now;
      }
    }
  }

  /** Candidates member `namedBy` named in a message (call-me-maybe, or an introduction we asked for). */
  named(candidates: readonly Endpoint[], namedBy: PeerId, now: number): void {
    const { ordered } = rankPeerCandidates(candidates.slice(0, MAX_CANDIDATES), this.c.ourReflexiveIps());
    let room = this.c.budget.room(namedBy);
    for (const { endpoint, kind } of ordered) {
      const key = endpointKey(endpoint);
      const held = this.c.routes.get(key);
      if (held !== undefined) {
        if (held.source === 'observed') held.source = 'introduced';
        // Answered, or in the peer's own record: nothing to pay for. Else the latest member to name
        // it keeps it alive, and pays.
        if (held.lastAnsweredAt !== undefined || this.announced.has(key)) continue;
        if (held.namedBy !== namedBy) {
          if (room === 0) continue;
          room--;
          held.namedBy = namedBy;
        }
        held.namedAt = now;
        continue;
      }
      const mine = this.unansweredNamed((e) => e.namedBy === namedBy);
      const pathFull =
        mine.length < MAX_CANDIDATES && this.unansweredNamed().length >= MAX_UNANSWERED_PER_PEER;
      if (room === 0 || pathFull) {
        this.c.budget.refusedCandidates++;
        continue;
      }
      // A member's newer list replaces its older one: its oldest unanswered address goes.
      if (mine.length >= MAX_CANDIDATES) {
        this.c.routes.delete(mine.reduce((a, b) => (b.namedAt < a.namedAt ? b : a)).key);
      }
      this.add(endpoint, kind, 'introduced', namedBy, now);
      room--;
    }
    this.trimAnswered();
  }

  /**
   * The peer's authenticated ping came from an address we did not know: the peer names it (for its
   * own path only, MAX_OBSERVED_CANDIDATES at most).
   */
  observed(endpoint: Endpoint, now: number): PathEvidence {
    const current = this.c.current();
    const observed = [...this.c.routes.values()].filter((e) => e.source === 'observed' && e !== current);
    if (observed.length >= MAX_OBSERVED_CANDIDATES) this.c.routes.delete(observed[0]!.key);
    return this.add(endpoint, 'observed', 'observed', this.c.peer, now);
  }

  /** Never-answered addresses member `namedBy` named here in messages: its share held on this path. */
  unansweredBy(namedBy: PeerId): number {
    return this.unansweredNamed((e) => e.namedBy === namedBy).length;
  }

  /** Member `id` left: the never-answered addresses it named go with it. */
  forgetNamedBy(id: PeerId): void {
    for (const e of this.unansweredNamed((x) => x.namedBy === id)) this.c.routes.delete(e.key);
  }

  /** Addresses outside the peer's record that never answered go when nobody has named them for a while. */
  ageOut(now: number): void {
    const current = this.c.current();
    for (const [key, e] of this.c.routes) {
      if (e.route.type !== 'direct' || e === current || e.lastAnsweredAt !== undefined) continue;
      if (this.announced.has(key) || now - e.namedAt <= UNANSWERED_CANDIDATE_TTL_MS) continue;
      this.c.routes.delete(key);
      this.c.budget.agedOutCandidates++;
    }
  }

  private add(
    endpoint: Endpoint,
    kind: CandidateKind,
    source: 'announced' | 'introduced' | 'observed',
    namedBy: PeerId,
    now: number,
  ): PathEvidence {
    const e = new PathEvidence(directRoute(endpoint, kind), source, now, namedBy);
    // A new address is tried at once, also mid-burst: the other side is probing it right now.
    e.probeNowAt = now;
    this.c.routes.set(e.key, e);
    return e;
  }

  /** Routes named in messages (not in the peer's record, not seen in its pings) that never answered. */
  private unansweredNamed(also: (e: PathEvidence) => boolean = () => true): PathEvidence[] {
    const current = this.c.current();
    return [...this.c.routes.values()].filter(
      (e) =>
        e.source === 'introduced' &&
        e.lastAnsweredAt === undefined &&
        e !== current &&
        !this.announced.has(e.key) &&
        also(e),
    );
  }

  /** Named addresses that answered stay as alternatives; the newest are kept so the set stays bounded. */
  private trimAnswered(): void {
    const current = this.c.current();
    const answered = [...this.c.routes.values()].filter(
      (e) => e.source === 'introduced' && e.lastAnsweredAt !== undefined && e !== current,
    );
    for (const e of answered.slice(0, Math.max(0, answered.length - 2 * MAX_CANDIDATES))) {
      this.c.routes.delete(e.key);
    }
  }
}
