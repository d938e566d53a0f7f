/**
 * How much of the resolver's time one source can take: a token bucket per source, in a table of
 * bounded size, then one bucket for everyone. A flood from one source empties its own bucket and
 * is dropped before any parsing, so the others' queries are still answered; a flood spread over
 * many sources (spoofed, or a table-full of them) meets the shared bucket, which bounds the work
 * the resolver does in all.
 */

export interface RateLimits {
  /** Queries per second one source may send, sustained. */
  readonly perSource: number;
  /** How many one source may send at once after being quiet. */
  readonly perSourceBurst: number;
  /** Queries per second for all sources together. */
  readonly total: number;
  readonly totalBurst: number;
  /** Sources remembered at once; new sources beyond it share one bucket. */
  readonly maxSources: number;
}

/**
 * A busy desktop's stub resolver sends tens of queries a second; one source well beyond that is a
 * bug or a flood. The total bounds the resolver's CPU: a query costs it tens of microseconds.
 */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  perSource: 100,
  perSourceBurst: 200,
  total: 2_000,
  totalBurst: 2_000,
  maxSources: 1_024,
};

/** Tokens as of `at` (ms). */
interface Bucket {
  tokens: number;
  at: number;
}

function take(bucket: Bucket, now: number, rate: number, burst: number): boolean {
  if (now > bucket.at) {
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.at) * rate) / 1000);
    bucket.at = now;
  }
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

/** Sources are swept of full buckets at most this often, so a table-full of sources costs O(1) a query. */
const SWEEP_MS = 1_000;

export class RateLimiter {
  private readonly sources = new Map<string, Bucket>();
  private readonly overflow: Bucket;
  private readonly total: Bucket;
  private sweptAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly limits: RateLimits,
    now: number,
  ) {
    this.overflow = { tokens: limits.perSourceBurst, at: now };
    this.total = { tokens: limits.totalBurst, at: now };
  }

  /** Whether one more query from `source` may be handled now; false means drop it. */
  allow(source: string, now: number): 'ok' | 'source' | 'total' {
    const { perSource, perSourceBurst, total, totalBurst } = this.limits;
    if (!take(this.bucketOf(source, now), now, perSource, perSourceBurst)) return 'source';
    return take(this.total, now, total, totalBurst) ? 'ok' : 'total';
  }

  /** Sources with a bucket of their own (the table is bounded by maxSources). */
  get tracked(): number {
    return this.sources.size;
  }

  private bucketOf(source: string, now: number): Bucket {
    const known = this.sources.get(source);
    if (known) return known;
    if (this.sources.size >= this.limits.maxSources) this.sweep(now);
    if (this.sources.size >= this.limits.maxSources) return this.overflow;
    const bucket = { tokens: this.limits.perSourceBurst, at: now };
    this.sources.set(source, bucket);
    return bucket;
  }

  /** Forgets sources whose bucket has refilled: they would start full again anyway. */
  private sweep(now: number): void {
    if (now - this.sweptAt < SWEEP_MS) return;
    this.sweptAt = now;
    const { perSource, perSourceBurst } = this.limits;
    for (const [source, b] of this.sources) {
      if (b.tokens + ((now - b.at) * perSource) / 1000 >= perSourceBurst) this.sources.delete(source);
    }
  }
}
