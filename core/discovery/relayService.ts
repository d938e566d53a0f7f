/**
 * Serving as a relay: forwarding a datagram one member sends us for another, when the two cannot
 * reach each other directly. The datagram is opaque (a WireGuard packet, or a message sealed for the
 * addressee): the end-to-end session stays between the two members and we read nothing of it.
 *
 * Only between members: the sender is authenticated by the seal of the relay envelope, the addressee
 * must be a current member we reach directly (never an arbitrary address, never another relay, so no
 * loops or amplification), and each sender is held to a token bucket, with a total cap besides.
 */
import { RELAY_BURST, RELAY_PACKETS_PER_SECOND, RELAY_TOTAL_PACKETS_PER_SECOND } from './constants.js';

export type RelayRefusal = 'disabled' | 'toSelf' | 'toSender' | 'notMember' | 'unreachable' | 'overRate';

export interface RelayServiceOptions {
  readonly self: string;
  /** False with --no-relay: this member carries no one's traffic. */
  readonly enabled: boolean;
  readonly packetsPerSecond?: number;
  readonly burst?: number;
  readonly totalPacketsPerSecond?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RelayService {
  private readonly buckets = new Map<string, Bucket>();
  private readonly total: Bucket;
  private readonly rate: number;
  private readonly burst: number;
  private readonly totalRate: number;
  forwarded = 0;
  refused = 0;

  constructor(private readonly options: RelayServiceOptions) {
    this.rate = options.packetsPerSecond ?? RELAY_PACKETS_PER_SECOND;
    this.burst = options.burst ?? RELAY_BURST;
    this.totalRate = options.totalPacketsPerSecond ?? RELAY_TOTAL_PACKETS_PER_SECOND;
    this.total = { tokens: this.totalRate, at: Number.NEGATIVE_INFINITY };
  }

  /**
   * May `from` (an authenticated member) have a datagram forwarded to `to`? `toEndpoint` is where we
   * reach `to` directly, undefined if we do not; `isMember(to)` is the roster's word.
   */
  admit(
    from: string,
    to: string,
    toEndpoint: string | undefined,
    isMember: (id: string) => boolean,
    now: number,
  ): { ok: true; endpoint: string } | { ok: false; reason: RelayRefusal } {
    const refuse = (reason: RelayRefusal) => {
      this.refused++;
      return { ok: false as const, reason };
    };
    if (!this.options.enabled) return refuse('disabled');
    if (to === this.options.self) return refuse('toSelf');
    if (to === from) return refuse('toSender');
    if (!isMember(to) || !isMember(from)) return refuse('notMember');
    if (toEndpoint === undefined) return refuse('unreachable');
    if (!this.take(this.total, this.totalRate, this.totalRate, now)) return refuse('overRate');
    let bucket = this.buckets.get(from);
    if (bucket === undefined) {
      bucket = { tokens: this.burst, at: now };
      this.buckets.set(from, bucket);
    }
    if (!this.take(bucket, this.rate, this.burst, now)) return refuse('overRate');
    this.forwarded++;
    return { ok: true, endpoint: toEndpoint };
  }

  /** A member left: its bucket goes, so the map stays as large as the roster at most. */
  forget(id: string): void {
    this.buckets.delete(id);
  }

  private take(b: Bucket, rate: number, burst: number, now: number): boolean {
    const elapsed = Math.max(0, now - b.at);
    b.tokens = Math.min(burst, b.tokens + (elapsed * rate) / 1000);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }
}
