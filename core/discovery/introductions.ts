/**
 * Introductions, both roles. As a member without a direct path to a peer, we ask up to INTRODUCERS
 * members we do reach to introduce us; as such a mutual member, we hand each side the other's
 * candidates at the same moment, so both start probing together and each one's outgoing probes open
 * its own NAT for the other's (the simultaneous open that makes hole punching work).
 */
import {
  INTRODUCERS,
  INTRODUCTION_MIN_GAP_MS,
  INTRODUCTION_RETRY_MS,
  MAX_CANDIDATES,
  MAX_PENDING_INTRODUCTIONS,
  PENDING_INTRODUCTION_CHECK_MS,
  PENDING_INTRODUCTION_MS,
} from './constants.js';
import type { DiscoverySend } from './discovery.js';
import { idKey } from './peerId.js';

export interface IntroductionsContext {
  readonly self: string;
  /** Where we reach a member directly, if we do. */
  readonly directEndpoint: (id: string) => string | undefined;
  /** A member's announced candidates; undefined for a non-member. */
  readonly announcedBy: (id: string) => readonly string[] | undefined;
}

export class Introductions {
  private readonly requestedAt = new Map<string, number>();
  private readonly introducedAt = new Map<string, number>();
  /**
   * Introductions asked of us before we reached both sides (at start-up everyone asks at once, before
   * our own probes to them have answered): made as soon as we can, or dropped after a while.
   */
  private readonly pending = new Map<string, { a: string; b: string; until: number }>();

  constructor(private readonly context: IntroductionsContext) {}

  forget(id: string): void {
    this.requestedAt.delete(id);
  }

  /** Requests for peers without a direct path, to members we reach directly; retried every 10 s. */
  ask(peers: readonly { id: string; direct: boolean }[], now: number): DiscoverySend[] {
    const introducers = peers.filter((p) => p.direct).map((p) => p.id);
    if (introducers.length === 0) return [];
    const out: DiscoverySend[] = [];
    for (const { id, direct } of peers) {
      if (direct) continue;
      if (now - (this.requestedAt.get(id) ?? Number.NEGATIVE_INFINITY) < INTRODUCTION_RETRY_MS) continue;
      const asked = introducers.filter((m) => m !== id).slice(0, INTRODUCERS);
      if (asked.length === 0) continue;
      this.requestedAt.set(id, now);
      for (const m of asked) {
        const endpoint = this.context.directEndpoint(m);
        if (endpoint !== undefined)
          out.push({ to: m, endpoint, message: { kind: 'introduceRequest', peer: idKey(id) } });
      }
    }
    return out;
  }

  /** Member `a` asked us to introduce it to `b`. */
  requested(a: string, b: string, now: number): DiscoverySend[] {
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

  /**
   * Each side gets the other's candidates: first the address we see it at (its reflexive address,
   * which works behind an endpoint-independent NAT), then what it announces.
   */
  private introduce(a: string, b: string, now: number): DiscoverySend[] {
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
    if (now - (this.introducedAt.get(pair) ?? Number.NEGATIVE_INFINITY) < INTRODUCTION_MIN_GAP_MS) return [];
    this.introducedAt.set(pair, now);
    // Only the rate limit needs the history: forget the oldest pairs beyond a bound.
    if (this.introducedAt.size > MAX_PENDING_INTRODUCTIONS) {
      this.introducedAt.delete(this.introducedAt.keys().next().value!);
    }
    const list = (seen: string, id: string) =>
      [...new Set([seen, ...(this.context.announcedBy(id) ?? [])])].slice(0, MAX_CANDIDATES);
    return [
      { to: a, endpoint: ea, message: { kind: 'introduce', peer: idKey(b), candidates: list(eb, b) } },
      { to: b, endpoint: eb, message: { kind: 'introduce', peer: idKey(a), candidates: list(ea, a) } },
    ];
  }
}
