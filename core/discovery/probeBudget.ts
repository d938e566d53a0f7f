/**
 * What probes to addresses that never answered may cost (issue 10, hole 6). A member can name any
 * address as a candidate — its own in a call-me-maybe or its endpoint record, another peer's in an
 * introduction we asked for — and every ping we send there lands on whoever holds that address. So
 * such pings are paid from two token buckets, the path's and the naming member's: one member can make
 * us send at most UNANSWERED_PROBE_BURST_PER_SENDER + UNANSWERED_PROBES_PER_SECOND_PER_SENDER × t
 * of them, whatever it sends and about however many peers. Pings to a route that answered (the peer is
 * there: its pong was sealed with its key) cost nothing. Candidates are capped as well: `room` says how
 * many more unanswered addresses a member may have us hold.
 *
 * Both maps are keyed by member id and forgotten when the member leaves, so they are as large as the
 * roster at most.
 */
import type { PeerId } from '../base/keys.js';
import {
  MAX_UNANSWERED_PER_SENDER,
  UNANSWERED_PROBE_BURST_PER_PEER,
  UNANSWERED_PROBE_BURST_PER_SENDER,
  UNANSWERED_PROBES_PER_SECOND_PER_PEER,
  UNANSWERED_PROBES_PER_SECOND_PER_SENDER,
} from './constants.js';

/** A token bucket: `burst` tokens, refilled at `perSecond`. */
export class TokenBucket {
  private tokens: number;

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private at: number,
  ) {
    this.tokens = burst;
  }

  /** Refills to `now`; true when a token is there to take. */
  has(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + (Math.max(0, now - this.at) * this.perSecond) / 1000);
    this.at = Math.max(this.at, now);
    return this.tokens >= 1;
  }

  /** Takes a token; call only after has() said there is one. */
  take(): void {
    this.tokens -= 1;
  }
}

export interface ProbeCounters {
  /** Introductions from a member we had not asked about that peer (or asked already answered). */
  readonly unaskedIntroductions: number;
  /** Candidate addresses not taken: the member or the path already held its share of unanswered ones. */
  readonly refusedCandidates: number;
  /** Pings to never-answered addresses not sent: the path's or the naming member's budget was spent. */
  readonly refusedProbes: number;
  /** Named candidates dropped because they never answered within UNANSWERED_CANDIDATE_TTL_MS. */
  readonly agedOutCandidates: number;
}

export class ProbeBudget {
  private readonly bySender = new Map<PeerId, TokenBucket>();
  private readonly byPeer = new Map<PeerId, TokenBucket>();
  refusedCandidates = 0;
  refusedProbes = 0;
  agedOutCandidates = 0;

  /** `unansweredBy(member)`: never-answered candidates that member named, held on all paths now. */
  constructor(private readonly unansweredBy: (member: PeerId) => number) {}

  /** How many more never-answered candidates `member` may have us hold. */
  room(member: PeerId): number {
    return Math.max(0, MAX_UNANSWERED_PER_SENDER - this.unansweredBy(member));
  }

  /** A ping on `peer`'s path to an address `namedBy` gave us that never answered: may it go? */
  spend(peer: PeerId, namedBy: PeerId, now: number): boolean {
    const path = this.bucket(
      this.byPeer,
      peer,
      UNANSWERED_PROBES_PER_SECOND_PER_PEER,
      UNANSWERED_PROBE_BURST_PER_PEER,
      now,
    );
    const sender = this.bucket(
      this.bySender,
      namedBy,
      UNANSWERED_PROBES_PER_SECOND_PER_SENDER,
      UNANSWERED_PROBE_BURST_PER_SENDER,
      now,
    );
    if (!path.has(now) || !sender.has(now)) {
      this.refusedProbes++;
      return false;
    }
    path.take();
    sender.take();
    return true;
  }

  forget(id: PeerId): void {
    this.bySender.delete(id);
    this.byPeer.delete(id);
  }

  private bucket(
    map: Map<PeerId, TokenBucket>,
    id: PeerId,
    perSecond: number,
    burst: number,
    now: number,
  ): TokenBucket {
    let b = map.get(id);
    if (b === undefined) {
      b = new TokenBucket(perSecond, burst, now);
      map.set(id, b);
    }
    return b;
  }
}
