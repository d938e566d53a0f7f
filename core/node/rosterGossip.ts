/**
 * The node's side of gossip (core/gossip): its rounds on a timer, the records this node makes
 * published, and members' gossip answered. What a round sends is the Gossip machine's to decide;
 * this module seals nothing itself — it hands each message to `send` — and tells the node when
 * records were accepted, so the node can bring its peers in line.
 */

import type { Endpoint } from '../base/endpoint.js';
import { RUMOR_HOPS } from '../gossip/constants.js';
import { Gossip, type GossipSend } from '../gossip/gossip.js';
import { encodeRecords } from '../gossip/gossipMessages.js';
import type { GossipRecord, RecordStore } from '../gossip/recordStore.js';

/** The shortest wait between rounds, whatever the machine asks: a timer storm costs CPU, not news. */
const MIN_ROUND_DELAY_MS = 50;

export interface RosterGossipOptions {
  /** This node's peer id: its WireGuard key, base64. */
  readonly self: string;
  readonly store: RecordStore;
  /** Seals a gossip message for member `to` and sends it, to `endpoint` when given. */
  send(to: string, message: Uint8Array, endpoint: Endpoint | undefined): void;
  /** The members a round may talk to now (WireGuard keys, base64). */
  reachable(): string[];
  /** Records were accepted (from a member, or published here). */
  accepted(records: GossipRecord[]): void;
}

export class RosterGossip {
  private readonly gossip: Gossip;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

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
  }

  /** A record this node made (a certificate it issued, a revocation, its endpoints): keep and spread it. */
  publish(record: GossipRecord): void {
    const { send, result } = this.gossip.publish(record, Date.now());
    this.send(send);
    if (result !== 'invalid') this.options.accepted([record]);
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
  receive(from: string, body: Uint8Array, replyTo: Endpoint | undefined): void {
    const result = this.gossip.receive(from, body, Date.now());
    // Answers go back the way the question came: our path to a member that just came up may still
    // be a guess (a relay chosen blind while it was down) when its first digest arrives.
    this.send(result.send, replyTo && { to: from, endpoint: replyTo });
    if (result.accepted.length > 0) this.options.accepted(result.accepted);
  }

  private send(sends: GossipSend[], replyTo?: { to: string; endpoint: Endpoint }): void {
    for (const { to, message } of sends) {
      this.options.send(to, message, replyTo?.to === to ? replyTo.endpoint : undefined);
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const { send, nextWakeAt } = this.gossip.tick(Date.now(), this.options.reachable());
      this.send(send);
      this.schedule(Math.max(MIN_ROUND_DELAY_MS, nextWakeAt - Date.now()));
    }, delayMs);
  }
}
