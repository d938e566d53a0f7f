/**
 * Discovery's round trips as the data path sees them (issue 13, point 4). Discovery's own clock is
 * the tick's Date.now(): a pong's RTT would include both ends' event-loop delays (3–8 ms on a link
 * `ping` crosses in 0.6). Here each ping is timed from the data path's stamp just before its sendto
 * (CLOCK_MONOTONIC, process.hrtime's clock; a stamp taken after the send returns can come after the
 * answer, since a sender is often preempted right there by the receiver it woke), each pong by its
 * data path's receive time (the `at` of its datagram), less how long the answerer held the ping: its
 * data path's receive of the ping to the pong's sealing (`heldUs`, which this module also fills in
 * when we answer).
 *
 * What remains is the wire both ways plus the two data paths' receive threads and the sealing of one
 * pong. Bounded: at most MAX_PINGS sends remembered, each for at most PING_MEMORY_MS.
 */
import { hex } from '../base/bytes.js';

/** More pings in flight than discovery keeps (MAX_PENDING_PINGS per path) are not timed. */
const MAX_PINGS = 4096;
/** Longer than discovery waits for a pong (PONG_TIMEOUT_MS). */
const PING_MEMORY_MS = 10_000;

/** Pong sending costs kept (pongSent). */
const SEND_COSTS = 9;

function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Now on CLOCK_MONOTONIC, in ms: the clock of the data path's `at`. */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class PathTiming {
  /** Our pings by txid (hex) → when they left, oldest first. */
  private readonly sent = new Map<string, number>();
  /** The ping being answered now (receive → apply, one synchronous call), and its arrival. */
  private answering: { txid: string; at: number; stampedAt?: number } | undefined;
  /**
   * How long our last pongs took from their heldUs stamp to the data path's send (encoding, sealing,
   * the send call), oldest first: the next pong's heldUs includes their median, since it cannot
   * measure its own sealing from inside the sealed message.
   */
  private readonly sendCosts: number[] = [];

  constructor(private readonly clock: () => number = monotonicMs) {}

  /** A ping of ours left, at `at` as the data path stamped it (taken before its send), else just now. */
  pingSent(txid: Uint8Array, at?: number): void {
    const now = at ?? this.clock();
    for (const [id, at] of this.sent) {
      if (now - at <= PING_MEMORY_MS && this.sent.size < MAX_PINGS) break;
      this.sent.delete(id);
    }
    this.sent.set(hex(txid), now);
  }

  /** A ping arrived at `arrivedAt` (data path); its pong is sealed within this same call (heldUs). */
  pingArrived(txid: Uint8Array, arrivedAt: number | undefined): void {
    this.answering = arrivedAt === undefined ? undefined : { txid: hex(txid), at: arrivedAt };
  }

  /**
   * How long we will have held the ping `txid` when its pong leaves, µs: held so far, and what
   * sending a pong has lately cost. Undefined when its arrival is not known.
   */
  heldUs(txid: Uint8Array): number | undefined {
    const a = this.answering;
    if (a === undefined || a.txid !== hex(txid)) return undefined;
    a.stampedAt = this.clock();
    return Math.max(0, Math.round((a.stampedAt - a.at + median(this.sendCosts)) * 1000));
  }

  /** The pong to `txid` left at `sentAt` (the data path's stamp): what it cost is noted. */
  pongSent(txid: Uint8Array, sentAt: number | undefined): void {
    const a = this.answering;
    if (a?.stampedAt === undefined || sentAt === undefined || a.txid !== hex(txid)) return;
    this.sendCosts.push(Math.max(0, sentAt - a.stampedAt));
    if (this.sendCosts.length > SEND_COSTS) this.sendCosts.shift();
  }

  /** The ping answered: its arrival no longer applies. */
  answered(): void {
    this.answering = undefined;
  }

  /**
   * A pong to ping `txid` arrived at `arrivedAt`; the answerer held it `heldUs`. The round trip in
   * ms, or undefined when the send or the arrival is not known or the figures do not add up.
   */
  rttMs(txid: Uint8Array, arrivedAt: number | undefined, heldUs: number | undefined): number | undefined {
    const id = hex(txid);
    const sentAt = this.sent.get(id);
    if (sentAt === undefined || arrivedAt === undefined) return undefined;
    this.sent.delete(id);
    const rtt = arrivedAt - sentAt - (heldUs ?? 0) / 1000;
    return rtt >= 0 ? rtt : undefined;
  }
}
