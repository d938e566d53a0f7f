/**
 * The node's side of gossip (core/gossip): its rounds on a timer, the records this node makes
 * published, and members' gossip answered. What a round sends is the Gossip machine's to decide;
 * this module seals nothing itself — it hands each message to `send` — and tells the node when
 * records were accepted, so the node can bring its peers in line.
 *
 * Its pace (issue 12, point 5: an idle node sleeps): rounds as often as the machine asks (about a
 * second) while records move, and about a minute apart once nothing has moved for QUIET_AFTER_MS.
 * Whatever moves — a record published or accepted, a member's message that needed an answer (its
 * digest differed from ours) — brings the fast rounds back at once, on every node it reaches: a new
 * record is pushed as a rumor anyway, and the members it reaches go back to rounds every second,
 * which find whoever the rumor missed within seconds. Quiet rounds only guard against a rumor that
 * reached no one.
 */

import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { RUMOR_HOPS } from '../gossip/constants.js';
import { Gossip, type GossipSend } from '../gossip/gossip.js';
import { encodeRecords } from '../gossip/gossipMessages.js';
import type { GossipRecord, RecordStore } from '../gossip/recordStore.js';
import { ENDPOINT_RECORD_PREFIX } from '../membership/endpointRecord.js';

/** The shortest wait between rounds, whatever the machine asks: a timer storm costs CPU, not news. */
const MIN_ROUND_DELAY_MS = 50;
/** Nothing moved for this long: the network agrees, and rounds slow down to QUIET_ROUND_MS (±50%). */
const QUIET_AFTER_MS = 30_000;
const QUIET_ROUND_MS = 60_000;
/**
 * Members' endpoint records that gossip brings are told to the node in one batch this long after the
 * first: every member publishes its endpoints again as it learns its addresses, to every node, and
 * the node answers each batch with a pass over the whole roster — O(N) per message, O(N²) per node
 * while a network of N forms (bench:scale). Told at once (with whatever waits): certificates and
 * revocations (a new member's first handshake and pings must find it a peer, a kicked one must find
 * itself cut off), this node's own records, and what the node calls urgent (a member that started
 * again: its relayed traffic waits on the relay key for its new epoch).
 */
const ACCEPTED_BATCH_MS = 50;

export interface RosterGossipOptions {
  /** This node's own peer id. */
  readonly self: PeerId;
  readonly store: RecordStore;
  /** Seals a gossip message for member `to` and sends it, to `endpoint` when given. */
  send(to: PeerId, message: Uint8Array, endpoint: Endpoint | undefined): void;
  /** The members a round may talk to now. */
  reachable(): PeerId[];
  /**
   * Records were accepted (from a member, or published here): members' endpoint records within
   * ACCEPTED_BATCH_MS, together with those accepted meanwhile; anything else at once.
   */
  accepted(records: GossipRecord[]): void;
  /** An endpoint record (accepted, held) that must not wait for the batch. */
  urgent?(record: GossipRecord): boolean;
}

export class RosterGossip {
  private readonly gossip: Gossip;
  private timer: NodeJS.Timeout | undefined;
  /** The pending round is a quiet one (QUIET_ROUND_MS away). */
  private quietRound = false;
  private lastNewsAt = Date.now();
  private stopped = false;
  /** Accepted records not yet told to the node, and the timer that will. */
  private waiting: GossipRecord[] = [];
  private batchTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: RosterGossipOptions) {
    this.gossip = new Gossip({ self: options.self, store: options.store });
  }

  /** Starts the rounds: the first at once. */
  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.batchTimer) clearTimeout(this.batchTimer);
  }

  /** A record this node made (a certificate it issued, a revocation, its endpoints): keep and spread it. */
  publish(record: GossipRecord): void {
    const { send, result } = this.gossip.publish(record, Date.now());
    this.send(send);
    // Ours: told at once (a node publishes now and then, never a flood of them).
    if (result !== 'invalid') {
      this.news();
      this.waiting.push(record);
      this.flushAccepted();
    }
  }

  /**
   * Hands `record` to every member reachable now, without keeping it here: a member leaving tells
   * everyone itself (its own roster would drop every peer the moment it took the record). Each
   * member that accepts it spreads it on, so those away now learn it by gossip. Returns how many
   * members it went to.
   */
  tellEveryone(record: GossipRecord): number {
    const peers = this.options.reachable().filter((p) => p !== this.options.self);
    const messages = encodeRecords([record], RUMOR_HOPS);
    for (const to of peers) for (const message of messages) this.options.send(to, message, undefined);
    return peers.length;
  }

  /** A gossip message from member `from`; `replyTo`: where it came from, when it came direct. */
  receive(from: PeerId, body: Uint8Array, replyTo: Endpoint | undefined): void {
    const result = this.gossip.receive(from, body, Date.now());
    // Answers go back the way the question came: our path to a member that just came up may still
    // be a guess (a relay chosen blind while it was down) when its first digest arrives.
    this.send(result.send, replyTo && { to: from, endpoint: replyTo });
    if (result.send.length > 0 || result.accepted.length > 0) this.news();
    if (result.accepted.length > 0) this.accept(result.accepted);
  }

  /** Endpoint records wait for the batch; a certificate or a revocation goes now, with them. */
  private accept(records: GossipRecord[]): void {
    this.waiting.push(...records);
    const now = (r: GossipRecord) =>
      !r.id.startsWith(ENDPOINT_RECORD_PREFIX) || this.options.urgent?.(r) === true;
    if (records.some(now)) this.flushAccepted();
    else this.batchTimer ??= setTimeout(() => this.flushAccepted(), ACCEPTED_BATCH_MS);
  }

  private flushAccepted(): void {
    if (this.batchTimer) clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    const records = this.waiting;
    this.waiting = [];
    if (!this.stopped && records.length > 0) this.options.accepted(records);
  }

  /** Records moved, or members disagree: rounds at the machine's pace again, the next one soon. */
  private news(): void {
    this.lastNewsAt = Date.now();
    if (!this.quietRound) return;
    clearTimeout(this.timer);
    this.schedule(MIN_ROUND_DELAY_MS);
  }

  private send(sends: GossipSend[], replyTo?: { to: PeerId; endpoint: Endpoint }): void {
    for (const { to, message } of sends) {
      this.options.send(to, message, replyTo?.to === to ? replyTo.endpoint : undefined);
    }
  }

  private schedule(delayMs: number, quiet = false): void {
    if (this.stopped) return;
    this.quietRound = quiet;
    this.timer = setTimeout(() => {
      const now = Date.now();
      const { send, nextWakeAt } = this.gossip.tick(now, this.options.reachable());
      this.send(send);
      const pace = Math.max(MIN_ROUND_DELAY_MS, nextWakeAt - now);
      if (now - this.lastNewsAt < QUIET_AFTER_MS) this.schedule(pace);
      else this.schedule(Math.max(pace, QUIET_ROUND_MS * (0.5 + Math.random())), true);
    }, delayMs);
  }
}
