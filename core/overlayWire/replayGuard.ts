/**
 * Replay protection for sealed messages, kept per sender. A message carries its sender's
 * wall-clock time and a random id. It is accepted when its time is within the clock-skew budget
 * of ours, not older than REORDER_WINDOW_MS behind the newest message the same sender got
 * accepted, and its id was not seen among that sender's recent ones.
 *
 * Everything is per sender, so what one key sends can only ever cost that key: a full set of
 * recent ids raises that sender's own floor, never anyone else's, and the table of senders is
 * bounded and least-recently-used. The caller decides who gets a place at all (a node records
 * members only, and would-be joiners in a second, smaller guard), so a stranger cannot push a
 * member out.
 *
 * Why a newest-seen mark rather than a window as wide as the skew budget: ids would then have to
 * be kept for two minutes per sender. Datagrams from one sender are reordered by milliseconds,
 * so anything more than a few seconds behind what the sender already told us is stale anyway.
 * A sender whose clock steps back by more than that is not heard until it catches up.
 */
import { MAX_CLOCK_SKEW_MS } from '../clockSkew.js';
import { REORDER_WINDOW_MS, REPLAY_IDS_PER_SENDER, REPLAY_SENDERS } from './constants.js';

export type ReplayVerdict = 'fresh' | 'stale' | 'future' | 'replayed';

export interface ReplayGuardOptions {
  readonly maxSkewMs?: number;
  readonly reorderMs?: number;
  /** Recent ids kept per sender; beyond it the sender's own floor rises. */
  readonly idsPerSender?: number;
  /** Senders kept; beyond it the least recently heard one is forgotten. */
  readonly senders?: number;
}

interface SenderState {
  /** sentAt of the newest message accepted from this sender. */
  newest: number;
  /** Nothing at or below this is accepted again (raised when ids are forgotten for room). */
  floor: number;
  /** id → sentAt, in insertion order. */
  readonly ids: Map<string, number>;
}

export class ReplayGuard {
  private readonly senders = new Map<string, SenderState>();
  private readonly maxSkewMs: number;
  private readonly reorderMs: number;
  private readonly idsPerSender: number;
  private readonly capacity: number;

  constructor(options: ReplayGuardOptions = {}) {
    this.maxSkewMs = options.maxSkewMs ?? MAX_CLOCK_SKEW_MS;
    this.reorderMs = options.reorderMs ?? REORDER_WINDOW_MS;
    this.idsPerSender = options.idsPerSender ?? REPLAY_IDS_PER_SENDER;
    this.capacity = options.senders ?? REPLAY_SENDERS;
  }

  /** Senders with state. */
  get size(): number {
    return this.senders.size;
  }

  /** Ids remembered across all senders. */
  get ids(): number {
    let n = 0;
    for (const s of this.senders.values()) n += s.ids.size;
    return n;
  }

  /** Whether `sentAt` is within the skew budget of `now`, without looking at any sender. */
  timeVerdict(sentAt: number, now: number): 'fresh' | 'stale' | 'future' {
    if (sentAt > now + this.maxSkewMs) return 'future';
    if (sentAt < now - this.maxSkewMs) return 'stale';
    return 'fresh';
  }

  /** Checks and, if fresh, remembers the message. */
  check(sender: string, messageId: string, sentAt: number, now: number): ReplayVerdict {
    const time = this.timeVerdict(sentAt, now);
    if (time !== 'fresh') return time;
    const state = this.senders.get(sender);
    if (state === undefined) {
      this.remember(
        sender,
        { newest: sentAt, floor: Number.NEGATIVE_INFINITY, ids: new Map() },
        messageId,
        sentAt,
      );
      return 'fresh';
    }
    if (sentAt <= state.floor || sentAt < state.newest - this.reorderMs) return 'stale';
    if (state.ids.has(messageId)) return 'replayed';
    this.remember(sender, state, messageId, sentAt);
    return 'fresh';
  }

  /** A sender that left (a member removed from the roster): its state goes with it. */
  forget(sender: string): void {
    this.senders.delete(sender);
  }

  private remember(sender: string, state: SenderState, messageId: string, sentAt: number): void {
    state.newest = Math.max(state.newest, sentAt);
    // Ids behind the reorder window can never be accepted again: only their time is needed.
    for (const [id, at] of state.ids) {
      if (at >= state.newest - this.reorderMs) break;
      state.ids.delete(id);
      state.floor = Math.max(state.floor, at);
    }
    while (state.ids.size >= this.idsPerSender) {
      const oldest = state.ids.entries().next().value;
      if (oldest === undefined) break;
      state.ids.delete(oldest[0]);
      state.floor = Math.max(state.floor, oldest[1]);
    }
    state.ids.set(messageId, sentAt);
    // Re-inserted on use: the Map's order is least recently heard first.
    this.senders.delete(sender);
    this.senders.set(sender, state);
    while (this.senders.size > this.capacity) {
      const oldest = this.senders.keys().next().value;
      if (oldest === undefined) break;
      this.senders.delete(oldest);
    }
  }
}
