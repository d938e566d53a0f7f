/**
 * When the tunnel reads the data path's per-peer counters (issue 12, point 5: "no polling when
 * nothing happens"). Packets never come up to JavaScript, so the handshake side's timers (and
 * discovery, through the node) learn of traffic from the counters: read every READ_EVERY_MS while
 * transport moves, which is the precision the whitepaper's timers need (seconds). Once reads find
 * nothing moved, the watch arms the data path's one-shot `traffic` event and stops reading: an
 * idle tunnel reads nothing and sets no timer, and the first datagram either data-path thread
 * moves after that wakes it.
 *
 * Arming races with traffic: a datagram moved between the last read and the arming sets no event
 * (the watch was off) but is in the counters, so one more read follows the arming; traffic seen
 * there keeps the reads going (and the event it may also raise only wakes a watch that is awake).
 */

/** How often the counters are read while traffic moves. */
export const READ_EVERY_MS = 250;
/** Reads in a row that found nothing moved before the watch sleeps: half a second of quiet. */
const QUIET_READS = 2;

export interface TrafficCounters {
  /** Reads every peer's counters and tells whoever needs it; true if any moved since the last read. */
  read(): boolean;
  /** Arms the data path's one-shot traffic event (DataPath.watchTraffic). */
  arm(): void;
}

export class TrafficWatch {
  private timer: NodeJS.Timeout | undefined;
  private quiet = 0;
  private closed = false;

  constructor(
    private readonly counters: TrafficCounters,
    private readonly everyMs = READ_EVERY_MS,
  ) {}

  /** Whether the counters are being read (false: asleep, the data path's event armed). */
  get awake(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Traffic may be moving: the data path's event, or something this side sent itself (a
   * keepalive). Reads at once, then every everyMs until it is quiet again.
   */
  wake(): void {
    if (this.closed || this.timer !== undefined) return;
    this.quiet = 0;
    this.step();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private step(): void {
    this.timer = undefined;
    if (this.closed) return;
    this.quiet = this.counters.read() ? 0 : this.quiet + 1;
    if (this.quiet >= QUIET_READS) {
      this.counters.arm();
      if (!this.counters.read()) return;
      this.quiet = 0;
    }
    this.timer = setTimeout(() => this.step(), this.everyMs);
  }
}
