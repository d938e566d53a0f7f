/**
 * Introductions, both roles. As a member without a direct path to a peer, we ask up to INTRODUCERS
 * members we do reach to introduce us; as such a mutual member, we hand each side the other's
 * candidates at the same moment, so both start probing together and each one's outgoing probes open
 * its own NAT for the other's (the simultaneous open that makes hole punching work).
 *
 * Asked for, or not taken (issue 10, hole 6). An introduction makes us probe the addresses it names,
 * so we take one only from a member we asked about that peer, once per request, within
 * INTRODUCTION_RETRY_MS of asking (a later copy in that window only makes us probe again what we hold:
 * the peer asked the introducer again, so it probes now). The simultaneous open needs both sides probing at once, yet the
 * introducer, answering one side, tells the other side too — which may not have asked it. To that side
 * an unasked introduction is a hint and nothing more: its candidates are not used, but when we reach
 * the introducer directly we ask it ourselves (once per introducer and peer per retry window), and it
 * answers us as it answers anyone. That costs the side
 * that did not ask one round trip to the introducer (tens of ms), well inside the burst's 2.2 s.
 *
 * A member gains nothing from hints. What it names when asked it could name in a call-me-maybe about
 * itself, and both are paid from the same per-member candidate share and probe budget
 * (core/discovery/probeBudget.ts); an unasked introduction costs the addresses it names nothing, and us
 * at most one request to its sender per peer per retry window.
 *
 * As the introducer we answer requests from `a` about `b` at most every INTRODUCTION_MIN_GAP_MS per
 * direction (not per pair), so b's request, made on our hint moments after a's, is answered too.
 */
import type { Endpoint } from '../base/endpoint.js';
import { type PeerId, peerKey } from '../base/keys.js';
import {
  IDLE_INTRODUCTION_RETRY_MS,
  INTRODUCERS,
  INTRODUCTION_MIN_GAP_MS,
  INTRODUCTION_RETRY_MS,
  MAX_ASKED_INTRODUCTIONS,
  MAX_CANDIDATES,
  MAX_PENDING_INTRODUCTIONS,
  PENDING_INTRODUCTION_CHECK_MS,
  PENDING_INTRODUCTION_MS,
} from './constants.js';
import { dedupeEndpoints } from './endpointClass.js';
import type { DiscoverySend } from './pathTypes.js';

export interface IntroductionsContext {
  readonly self: PeerId;
  /** Where we reach a member directly, if we do. */
  readonly directEndpoint: (id: PeerId) => Endpoint | undefined;
  /** A member's announced candidates; undefined for a non-member. */
  readonly announcedBy: (id: PeerId) => readonly Endpoint[] | undefined;
}

/**
 * What to do with an introduction that arrived: take its candidates (the answer to our request), only
 * probe what we hold (a later copy from a member we asked: the peer is probing now), or nothing; and
 * what to send.
 */
export interface IntroductionVerdict {
  readonly take: 'candidates' | 'probe' | 'nothing';
  readonly send: DiscoverySend[];
}

export class Introductions {
  /** Per peer without a direct path: when this round of requests began, and whom it asked. */
  private readonly rounds = new Map<PeerId, { at: number; introducers: Set<PeerId> }>();
  /** Our requests by "introducer peer", oldest first: each answer is taken once, within the retry window. */
  private readonly asked = new Map<string, { at: number; answered: boolean }>();
  private readonly introducedAt = new Map<string, number>();
  /**
   * Introductions asked of us before we reached both sides (at start-up everyone asks at once, before
   * our own probes to them have answered): made as soon as we can, or dropped after a while.
   */
  private readonly pending = new Map<string, { a: PeerId; b: PeerId; until: number }>();
  /** Introductions refused because we had not asked that member about that peer (or had our answer). */
  unasked = 0;

  constructor(private readonly context: IntroductionsContext) {}

  forget(id: PeerId): void {
    this.rounds.delete(id);
    for (const round of this.rounds.values()) round.introducers.delete(id);
    for (const pair of this.asked.keys()) if (pair.split(' ').includes(id)) this.asked.delete(pair);
  }

  /**
   * Requests for peers without a direct path (`notDirect`), to INTRODUCERS members we reach directly
   * (`introducers`, read only when a round needs one); retried every 10 s, every 60 s while no traffic
   * flows to the peer (`idle`: a better path matters only once it does). A round that found fewer (at
   * start-up the first member to answer is often one behind our own NAT) asks the members we come to
   * reach meanwhile, so our request meets the peer's at the introducer: Discovery calls again whenever
   * a path comes or goes, and otherwise at `wakeAt`, when the next round is due.
   */
  ask(
    notDirect: Iterable<PeerId>,
    introducers: () => readonly PeerId[],
    idle: (id: PeerId) => boolean,
    now: number,
  ): { send: DiscoverySend[]; wakeAt: number } {
    this.pruneAsked(now);
    let direct: readonly PeerId[] | undefined;
    const out: DiscoverySend[] = [];
    let wakeAt = Number.POSITIVE_INFINITY;
    for (const id of notDirect) {
      const retryMs = idle(id) ? IDLE_INTRODUCTION_RETRY_MS : INTRODUCTION_RETRY_MS;
      let round = this.rounds.get(id);
      if (round !== undefined && now - round.at < retryMs) {
        wakeAt = Math.min(wakeAt, round.at + retryMs);
        if (round.introducers.size >= INTRODUCERS) continue;
      }
      direct ??= introducers();
      if (direct.length === 0) return { send: [], wakeAt: Number.POSITIVE_INFINITY };
      if (round === undefined || now - round.at >= retryMs) {
        round = { at: now, introducers: new Set() };
        this.rounds.set(id, round);
        wakeAt = Math.min(wakeAt, now + retryMs);
      }
      for (const m of direct) {
        if (round.introducers.size >= INTRODUCERS) break;
        if (m === id || round.introducers.has(m)) continue;
        const request = this.request(m, id, now);
        if (request === undefined) continue;
        round.introducers.add(m);
        out.push(request);
      }
    }
    return { send: out, wakeAt };
  }

  /**
   * Member `from` introduced `peer` to us. Taken when it answers our request; otherwise a hint to ask
   * `from` ourselves — also when we reach `peer` directly: the peer asked because it does not reach us,
   * and after a move of either side our path may be about to find out.
   */
  received(from: PeerId, peer: PeerId, now: number): IntroductionVerdict {
    this.pruneAsked(now);
    const asked = this.asked.get(pairKey(from, peer));
    if (asked !== undefined && !asked.answered) {
      asked.answered = true;
      return { take: 'candidates', send: [] };
    }
    // Asked within the window and answered already: the peer asked the introducer again, so it probes
    // now; we probe what we hold at the same time, but take no new addresses.
    if (asked !== undefined) return { take: 'probe', send: [] };
    this.unasked++;
    if (this.asked.size >= MAX_ASKED_INTRODUCTIONS) return { take: 'nothing', send: [] };
    const request = this.request(from, peer, now);
    return { take: 'nothing', send: request ? [request] : [] };
  }

  /** Member `a` asked us to introduce it to `b`. */
  requested(a: PeerId, b: PeerId, now: number): DiscoverySend[] {
    if (a === b || b === this.context.self || this.context.announcedBy(b) === undefined) return [];
    return this.introduce(a, b, now);
  }

  /** Introductions that waited for us to reach both sides. */
  due(now: number): { send: DiscoverySend[]; wakeAt?: number } {
    const send: DiscoverySend[] = [];
    for (const [pair, p] of this.pending) {
      if (now > p.until) this.pending.delete(pair);
      else send.push(...this.introduce(p.a, p.b, now));
    }
    return this.pending.size > 0 ? { send, wakeAt: now + PENDING_INTRODUCTION_CHECK_MS } : { send };
  }

  /** Our request to `introducer` about `peer`, remembered so its answer is taken; none if we do not reach it. */
  private request(introducer: PeerId, peer: PeerId, now: number): DiscoverySend | undefined {
    const endpoint = this.context.directEndpoint(introducer);
    if (endpoint === undefined) return undefined;
    const pair = pairKey(introducer, peer);
    this.asked.delete(pair);
    this.asked.set(pair, { at: now, answered: false });
    return { to: introducer, endpoint, message: { kind: 'introduceRequest', peer: peerKey(peer) } };
  }

  /** Requests older than the retry window are answered too late to take; the oldest go beyond the bound. */
  private pruneAsked(now: number): void {
    for (const [pair, a] of this.asked) {
      if (now - a.at <= INTRODUCTION_RETRY_MS && this.asked.size <= MAX_ASKED_INTRODUCTIONS) break;
      this.asked.delete(pair);
    }
  }

  /**
   * Each side gets the other's candidates: first the address we see it at (its reflexive address,
   * which works behind an endpoint-independent NAT), then what it announces.
   */
  private introduce(a: PeerId, b: PeerId, now: number): DiscoverySend[] {
    const ea = this.context.directEndpoint(a);
    const eb = this.context.directEndpoint(b);
    const pair = a < b ? `${a} ${b}` : `${b} ${a}`;
    if (ea === undefined || eb === undefined) {
      if (!this.pending.has(pair) && this.pending.size < MAX_PENDING_INTRODUCTIONS) {
        this.pending.set(pair, { a, b, until: now + PENDING_INTRODUCTION_MS });
      }
      return [];
    }
    this.pending.delete(pair);
    // Per direction: a's request and b's (on our hint) are each answered.
    const direction = pairKey(a, b);
    if (now - (this.introducedAt.get(direction) ?? Number.NEGATIVE_INFINITY) < INTRODUCTION_MIN_GAP_MS)
      return [];
    this.introducedAt.delete(direction);
    this.introducedAt.set(direction, now);
    // Only the rate limit needs the history: forget the oldest beyond a bound.
    if (this.introducedAt.size > MAX_PENDING_INTRODUCTIONS) {
      this.introducedAt.delete(this.introducedAt.keys().next().value!);
    }
    const list = (seen: Endpoint, id: PeerId) =>
      dedupeEndpoints([seen, ...(this.context.announcedBy(id) ?? [])]).slice(0, MAX_CANDIDATES);
    return [
      {
        to: a,
        endpoint: ea,
        message: { kind: 'introduce', peer: peerKey(b), candidates: list(eb, b) },
      },
      {
        to: b,
        endpoint: eb,
        message: { kind: 'introduce', peer: peerKey(a), candidates: list(ea, a) },
      },
    ];
  }
}

/** Ids are base64 and hold no space. */
function pairKey(first: PeerId, second: PeerId): string {
  return `${first} ${second}`;
}
