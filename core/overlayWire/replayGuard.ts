/**
 * Replay protection for sealed messages, in bounded memory. A message carries its sender's wall-clock
 * time and a random id; we accept it only if its time is within the window of ours and we have not
 * seen (sender, id) within the window. When the memory is full we forget the oldest-inserted entry
 * and raise a floor to its time: nothing at or below the floor is accepted again, so forgetting can
 * turn a late message away but can never let a replay in.
 */
import { REPLAY_CAPACITY, REPLAY_WINDOW_MS } from './constants.js';

export type ReplayVerdict = 'fresh' | 'stale' | 'future' | 'replayed';

export class ReplayGuard {
  /** key → sent-at, in insertion order (a Map iterates in insertion order). */
  private readonly seen = new Map<string, number>();
  private floor = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly windowMs = REPLAY_WINDOW_MS,
    private readonly capacity = REPLAY_CAPACITY,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** Checks and, if fresh, remembers the message. */
  check(senderKey: string, messageId: string, sentAt: number, now: number): ReplayVerdict {
    if (sentAt < now - this.windowMs) return 'stale';
    if (sentAt > now + this.windowMs) return 'future';
    if (sentAt <= this.floor) return 'stale';
    const key = `${senderKey}/${messageId}`;
    if (this.seen.has(key)) return 'replayed';
    this.forgetExpired(now);
    while (this.seen.size >= this.capacity) {
      const oldest = this.seen.entries().next().value;
      if (oldest === undefined) break;
      this.seen.delete(oldest[0]);
      this.floor = Math.max(this.floor, oldest[1]);
    }
    this.seen.set(key, sentAt);
    return 'fresh';
  }

  /**
   * Entries whose time has left the window are refused as stale anyway. Only the front is pruned:
   * an expired entry behind a younger one merely waits, and the capacity still bounds memory.
   */
  private forgetExpired(now: number): void {
    for (const [key, sentAt] of this.seen) {
      if (sentAt >= now - this.windowMs) return;
      this.seen.delete(key);
    }
  }
}
