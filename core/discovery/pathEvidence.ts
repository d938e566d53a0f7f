/**
 * What we know of one way to reach a peer — a direct candidate endpoint or a relay member — from our
 * own probes: round-trip times, the outcome of the last probes, when it last answered. This is the
 * evidence `overlay status` shows to explain a path ("why is this link relayed?").
 */
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { CandidateKind } from './candidateSet.js';
import { EVIDENCE_FRESH_MS, LOSS_WINDOW } from './constants.js';

/** Round trips the shown RTT is the median of: a few seconds of a busy path's pings. */
const RTT_SAMPLES = 9;

import { endpointKey, isPublicEndpoint } from './endpointClass.js';
import type { CandidateSnapshot, RouteState, Source } from './pathTypes.js';

export type Route =
  | {
      readonly type: 'direct';
      readonly endpoint: Endpoint;
      /** endpointKey(endpoint): the route's key in its path's table, worked out once. */
      readonly key: string;
      kind: CandidateKind;
      /** The endpoint's IP when it is a public one (parsed once: it decides sameNat on every tick). */
      readonly publicIp: string | undefined;
    }
  | { readonly type: 'relay'; readonly via: PeerId; readonly name: string; readonly public: boolean };

/** A direct route to `endpoint` (a valid candidate), with its public IP worked out once. */
export function directRoute(endpoint: Endpoint, kind: CandidateKind): Route {
  const publicIp = isPublicEndpoint(endpoint) ? endpoint.address : undefined;
  return { type: 'direct', endpoint, key: endpointKey(endpoint), kind, publicIp };
}

/** A route's key in its path's table: a direct one's endpoint text, or the relay's id. */
export function routeKey(r: { type: 'direct'; endpoint: Endpoint } | { type: 'relay'; via: PeerId }): string {
  return r.type === 'direct' ? endpointKey(r.endpoint) : `relay:${r.via}`;
}

/** The key of the route a message came by: the endpoint it came from, or the relay it came through. */
export function sourceKey(source: Source): string {
  return 'endpoint' in source ? endpointKey(source.endpoint) : routeKey({ type: 'relay', via: source.via });
}

export class PathEvidence {
  /** Outcomes of the last LOSS_WINDOW resolved probes, oldest first. */
  private readonly outcomes: boolean[] = [];
  /** Smoothed RTT (RFC 6298's α = 1/8 is for a steadier signal; 1/4 follows a move within a few pings). */
  srttMs: number | undefined;
  lastRttMs: number | undefined;
  /** The last RTT_SAMPLES round trips, oldest first: what status shows is their median. */
  private readonly recentRtts: number[] = [];
  lastAnsweredAt: number | undefined;
  lastSentAt = Number.NEGATIVE_INFINITY;
  /**
   * When the first probe still unanswered was sent; undefined when the last probe was answered.
   * Silence counts from here: a path we did not ask has not been silent, however long ago it last answered.
   */
  unansweredSince: number | undefined;
  /** Probes sent in all. */
  tries = 0;
  /** Answers in a row since the last loss. */
  streak = 0;
  /** When a single extra ping should confirm a first answer; undefined when none is due. */
  confirmAt: number | undefined;
  /** When an authenticated ping from the peer last came from here (a direct route): its NAT is open to us. */
  heardAt: number | undefined;
  /** When to probe at once, outside the regular schedules (a peer's ping came from here). */
  probeNowAt: number | undefined;
  /** When `namedBy` last named this route: a direct one that never answers ages out from then. */
  namedAt: number;

  constructor(
    /** Its key never changes; a direct route's kind may (a peer's record now says it is mapped). */
    public route: Route,
    /** Where we learned of it: the status view says so. */
    public source: 'announced' | 'introduced' | 'observed' | 'relay',
    readonly addedAt: number,
    /**
     * The member that named this route to us (the peer itself, or the introducer): while it has never
     * answered, its pings are paid from that member's probe budget (core/discovery/probeBudget.ts).
     */
    public namedBy: PeerId,
  ) {
    this.namedAt = addedAt;
  }

  get key(): string {
    return this.route.type === 'direct' ? this.route.key : routeKey(this.route);
  }

  sent(now: number): void {
    this.tries++;
    this.lastSentAt = now;
    this.unansweredSince ??= now;
  }

  answered(rttMs: number, now: number): void {
    this.lastRttMs = rttMs;
    this.recentRtts.push(rttMs);
    if (this.recentRtts.length > RTT_SAMPLES) this.recentRtts.shift();
    this.srttMs = this.srttMs === undefined ? rttMs : 0.75 * this.srttMs + 0.25 * rttMs;
    this.lastAnsweredAt = now;
    this.unansweredSince = undefined;
    this.streak++;
    this.record(true);
  }

  /** The peer said it is going away: what it answered before says nothing about it now. */
  forget(): void {
    this.streak = 0;
    this.lastAnsweredAt = undefined;
  }

  lost(): void {
    this.streak = 0;
    this.record(false);
  }

  /**
   * The RTT to show (issue 13, point 4): the median of the last RTT_SAMPLES round trips. What delays
   * a sample is mostly a busy thread at either end, not the path; a median leaves those out where a
   * smoothed mean (srttMs, which path choice and silence timers use) carries them for several pings.
   */
  get shownRttMs(): number | undefined {
    if (this.recentRtts.length === 0) return undefined;
    const s = [...this.recentRtts].sort((a, b) => a - b);
    const mid = s.length >> 1;
    return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  }

  /** Fraction of the last probes lost, in [0, 1]; 0 before any probe resolved. */
  get loss(): number {
    if (this.outcomes.length === 0) return 0;
    return this.outcomes.filter((o) => !o).length / this.outcomes.length;
  }

  /** Answered its last resolved probe, recently. */
  usable(now: number): boolean {
    return this.streak > 0 && this.answeredWithin(EVIDENCE_FRESH_MS, now);
  }

  answeredWithin(ms: number, now: number): boolean {
    return this.lastAnsweredAt !== undefined && now - this.lastAnsweredAt <= ms;
  }

  /** Lower is better: RTT inflated by loss (a lossy path costs retransmissions). */
  score(): number {
    return (this.srttMs ?? 1_000) * (1 + 2 * this.loss);
  }

  /** For status only (decisions read usable() and the silence timers): an answer gone stale is not a probe lost. */
  state(now: number): RouteState {
    if (this.usable(now)) return 'ok';
    if (this.streak > 0) return 'idle';
    return this.tries === 0 ? 'untried' : 'no-answer';
  }

  /** For `overlay status`: this route and the evidence about it. */
  describe(now: number): CandidateSnapshot {
    const r = this.route;
    return {
      ...(r.type === 'direct'
        ? { endpoint: formatEndpoint(r.endpoint), kind: r.kind }
        : { endpoint: `via ${r.name}`, kind: 'relay' as const, via: r.via }),
      source: this.source,
      state: this.state(now),
      tries: this.tries,
      // To 0.01 ms: a LAN path's round trip is a fraction of a millisecond (issue 13, point 4).
      ...(this.shownRttMs !== undefined && { rttMs: Math.round(this.shownRttMs * 100) / 100 }),
      ...(this.tries > 0 && { lossPct: Math.round(this.loss * 100) }),
      ...(this.lastAnsweredAt !== undefined && { lastAnswerAgeMs: Math.round(now - this.lastAnsweredAt) }),
      ...(this.heardAt !== undefined && { lastHeardAgeMs: Math.round(now - this.heardAt) }),
    };
  }

  /** Several probes and not one answer: not worth choosing blind. */
  get neverAnswered(): boolean {
    return this.lastAnsweredAt === undefined && this.outcomes.length >= 3;
  }

  private record(outcome: boolean): void {
    this.outcomes.push(outcome);
    if (this.outcomes.length > LOSS_WINDOW) this.outcomes.shift();
  }
}
