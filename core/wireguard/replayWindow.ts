/**
 * Sliding-window replay protection for transport counters (whitepaper §5.4.6, RFC 6479's idea).
 * Counters may arrive out of order within the window; each is accepted at most once.
 * `check` does not mutate, so a forged packet cannot advance the window: the caller checks, then
 * authenticates, then `accept`s.
 */
export const REPLAY_WINDOW_SIZE = 8192;

export class ReplayWindow {
  private readonly bits = new Uint32Array(REPLAY_WINDOW_SIZE / 32);
  /** The greatest counter accepted so far, or -1 before any. */
  private highest = -1n;

  constructor(private readonly limit: bigint) {}

  /** True if `counter` is under the limit, not older than the window and not yet seen. */
  check(counter: bigint): boolean {
    if (counter < 0n || counter >= this.limit) return false;
    if (counter > this.highest) return true;
    if (this.highest - counter >= BigInt(REPLAY_WINDOW_SIZE)) return false;
    const slot = Number(counter % BigInt(REPLAY_WINDOW_SIZE));
    return (this.bits[slot >>> 5]! & (1 << (slot & 31))) === 0;
  }

  /** Marks `counter` as seen; call only after check() and authentication both passed. */
  accept(counter: bigint): void {
    if (counter > this.highest) {
      const gap = counter - this.highest;
      if (gap >= BigInt(REPLAY_WINDOW_SIZE)) {
        this.bits.fill(0);
      } else {
        // Slots that now stand for counters above the old highest must start unseen.
        for (let c = this.highest + 1n; c <= counter; c++) {
          const slot = Number(c % BigInt(REPLAY_WINDOW_SIZE));
          this.bits[slot >>> 5]! &= ~(1 << (slot & 31));
        }
      }
      this.highest = counter;
    }
    const slot = Number(counter % BigInt(REPLAY_WINDOW_SIZE));
    this.bits[slot >>> 5]! |= 1 << (slot & 31);
  }
}
