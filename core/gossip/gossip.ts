/**
 * Anti-entropy gossip of signed records over a RecordStore, as a pure state machine: messages and
 * time in, messages and a wake-up time out. The node seals each message to its peer and sends it.
 *
 * Every round a node sends a digest (per bucket: XOR of (id, version) hashes and a count) to a few
 * reachable peers. A peer answers each differing bucket with its summaries (id hash, version), or
 * straight with its records when the digest says the bucket is empty. The side that sees it is behind
 * asks for records ("want"); the side that sees the other behind pushes them. New records are also
 * pushed at once to a few peers, and each peer that accepts one does the same (rumor mongering), so
 * news spreads in a few hops while anti-entropy mends whatever the rumors missed.
 *
 * Every answer is bounded per received message and per peer per interval, so a peer that sends junk
 * or floods costs us at most a fixed number of small messages.
 */
import type { PeerId } from '../base/keys.js';
import {
  GOSSIP_FANOUT,
  GOSSIP_INTERVAL_MS,
  MAX_HOT_RECORDS,
  MAX_REPLIES_PER_MESSAGE,
  MAX_REPLIES_PER_PEER_PER_INTERVAL,
  MAX_RUMOR_HOPS,
  MAX_RUMORS_PER_FLUSH,
  MAX_TRACKED_PEERS,
  RUMOR_FANOUT,
  RUMOR_HOPS,
  SNAPSHOT_REUSE_MS,
} from './constants.js';
import {
  type BucketDigest,
  decodeGossipMessage,
  encodeDigest,
  encodeRecords,
  encodeSummaries,
  encodeWant,
  type GossipDecodeFailure,
  isValidRecord,
  type SummaryGroup,
} from './gossipMessages.js';
import { RecordIndex, recordHashKey, type Snapshot } from './recordIndex.js';
import type { GossipRecord, OfferResult, RecordStore } from './recordStore.js';

export interface GossipOptions {
  /** This node's own peer id: never gossiped with, and a message "from" it is dropped. */
  readonly self: PeerId;
  readonly store: RecordStore;
  /** Uniform in [0, 1); injectable so a simulation is reproducible. */
  readonly random?: () => number;
  readonly fanout?: number;
  readonly rumorFanout?: number;
  readonly rumorHops?: number;
  readonly intervalMs?: number;
  readonly maxRepliesPerPeerPerInterval?: number;
}

export interface GossipSend {
  readonly to: PeerId;
  /** An encoded gossip message (≤ MAX_GOSSIP_MESSAGE bytes), to be sealed as an inner 'gossip'. */
  readonly message: Uint8Array;
}

export type GossipDropReason = GossipDecodeFailure | 'fromSelf' | 'overBudget';

export interface ReceiveResult {
  readonly send: GossipSend[];
  /** Records the store accepted as new: the node acts on them (new member, revocation, endpoints). */
  readonly accepted: GossipRecord[];
  /** Records the store refused as invalid (bad signature, unknown issuer, ...). */
  readonly invalid: number;
  readonly dropped?: GossipDropReason;
}

interface HotRecord {
  readonly id: string;
  readonly version: number;
  /** Who told us; no point telling it back. */
  readonly from: PeerId | null;
  /** Hops left for the copies we send. */
  readonly hops: number;
}

export class Gossip {
  private readonly random: () => number;
  private readonly fanout: number;
  private readonly rumorFanout: number;
  private readonly rumorHops: number;
  private readonly intervalMs: number;
  private readonly peerBudget: number;
  private readonly index: RecordIndex;
  private nextWakeAt = Number.NEGATIVE_INFINITY;
  /** The peers the node last said it can reach; rumors between ticks go to them. */
  private peers: readonly PeerId[] = [];
  private hot: HotRecord[] = [];
  private budgetWindowStart = Number.NEGATIVE_INFINITY;
  private readonly repliesThisWindow = new Map<PeerId, number>();
  private snapshot: { at: number; view: Snapshot } | null = null;

  constructor(private readonly options: GossipOptions) {
    this.random = options.random ?? Math.random;
    this.fanout = options.fanout ?? GOSSIP_FANOUT;
    this.rumorFanout = options.rumorFanout ?? RUMOR_FANOUT;
    this.rumorHops = Math.min(options.rumorHops ?? RUMOR_HOPS, MAX_RUMOR_HOPS);
    this.intervalMs = options.intervalMs ?? GOSSIP_INTERVAL_MS;
    this.peerBudget = options.maxRepliesPerPeerPerInterval ?? MAX_REPLIES_PER_PEER_PER_INTERVAL;
    this.index = new RecordIndex(options.store);
  }

  /**
   * A gossip round, if one is due: digests to `fanout` random peers among `reachablePeers`. Call it
   * again at `nextWakeAt`; calling early sends nothing.
   */
  tick(now: number, reachablePeers: readonly PeerId[]): { send: GossipSend[]; nextWakeAt: number } {
    this.peers = reachablePeers.filter((p) => p !== this.options.self);
    if (now < this.nextWakeAt) return { send: [], nextWakeAt: this.nextWakeAt };
    const send: GossipSend[] = [];
    const targets = this.pick(this.peers, this.fanout, null);
    if (targets.length > 0) {
      const digest = encodeDigest(this.view(now).digests);
      for (const to of targets) send.push({ to, message: digest });
    }
    send.push(...this.flushRumors());
    // ±50% jitter keeps rounds of nodes started together from staying in lockstep.
    this.nextWakeAt = now + this.intervalMs * (0.5 + this.random());
    return { send, nextWakeAt: this.nextWakeAt };
  }

  /** A record this node made (or issued, e.g. a new member's certificate): keep it and spread it now. */
  publish(record: GossipRecord, now: number): { send: GossipSend[]; result: OfferResult } {
    if (!isValidRecord(record)) return { send: [], result: 'invalid' };
    const result = this.options.store.offer(record, now);
    if (result === 'invalid') return { send: [], result };
    this.snapshot = null;
    const held = this.options.store.get(record.id);
    if (held !== undefined)
      this.makeHot({ id: held.id, version: held.version, from: null, hops: this.rumorHops });
    return { send: this.flushRumors(), result };
  }

  /** A gossip message from an authenticated peer (the node opened the seal and knows `from`). */
  receive(from: PeerId, message: Uint8Array, now: number): ReceiveResult {
    if (from === this.options.self) return { send: [], accepted: [], invalid: 0, dropped: 'fromSelf' };
    const decoded = decodeGossipMessage(message);
    if (!decoded.ok) return { send: [], accepted: [], invalid: 0, dropped: decoded.reason };
    const m = decoded.message;
    switch (m.type) {
      case 'digest':
        return this.answer(from, now, () => this.answerDigest(m.buckets, now));
      case 'summaries':
        return this.answer(from, now, () => this.answerSummaries(m.groups, now));
      case 'want':
        return this.answer(from, now, () => this.recordsFor(m.idHashes.map(recordHashKey), this.view(now)));
      case 'records':
        return this.takeRecords(from, m.records, m.hops, now);
    }
  }

  private answerDigest(theirs: readonly BucketDigest[], now: number): Uint8Array[] {
    const mine = this.view(now);
    const groups: SummaryGroup[] = [];
    const push: string[] = [];
    for (let b = 0; b < mine.digests.length; b++) {
      const my = mine.digests[b]!;
      const their = theirs[b]!;
      if (my.count === their.count && my.hi === their.hi && my.lo === their.lo) continue;
      const entries = mine.bucket(b);
      // They hold nothing here: summaries would only make them ask for everything; send it.
      if (their.count === 0) for (const e of entries) push.push(e.key);
      else groups.push({ bucket: b, complete: true, entries });
    }
    return [...encodeSummaries(groups), ...this.recordsFor(push, mine)];
  }

  private answerSummaries(groups: readonly SummaryGroup[], now: number): Uint8Array[] {
    const mine = this.view(now);
    const want: Uint8Array[] = [];
    const push: string[] = [];
    for (const g of groups) {
      const theirs = new Map<string, number>();
      for (const e of g.entries) {
        const key = recordHashKey(e.idHash);
        theirs.set(key, e.version);
        const local = mine.lookup(key);
        if (local === undefined || local.version < e.version) want.push(e.idHash);
        else if (local.version > e.version) push.push(key);
      }
      // Only a complete list lets us read absence as "they lack it".
      if (g.complete) for (const e of mine.bucket(g.bucket)) if (!theirs.has(e.key)) push.push(e.key);
    }
    return [...encodeWant(want), ...this.recordsFor(push, mine)];
  }

  private recordsFor(keys: readonly string[], mine: Snapshot): Uint8Array[] {
    if (keys.length === 0) return [];
    const records: GossipRecord[] = [];
    const seen = new Set<string>();
    for (const key of keys) {
      const entry = mine.lookup(key);
      if (entry === undefined || seen.has(key)) continue;
      seen.add(key);
      const record = this.options.store.get(entry.id);
      if (record !== undefined) records.push(record);
      // Replies are cut at the budget anyway; building more would only cost memory.
      if (records.length >= MAX_REPLIES_PER_MESSAGE * 8) break;
    }
    return encodeRecords(records, 0);
  }

  private takeRecords(
    from: PeerId,
    records: readonly { id: string; version: number; bytes: Uint8Array }[],
    hops: number,
    now: number,
  ): ReceiveResult {
    const accepted: GossipRecord[] = [];
    let invalid = 0;
    for (const record of records) {
      const result = this.options.store.offer(record, now);
      if (result === 'accepted') {
        this.snapshot = null;
        accepted.push(record);
        // Only news travels on as a rumor; records pulled by anti-entropy are old to everyone else.
        if (hops > 1) this.makeHot({ id: record.id, version: record.version, from, hops: hops - 1 });
      } else if (result === 'invalid') invalid++;
    }
    return { send: this.flushRumors(), accepted, invalid };
  }

  /**
   * The store as anti-entropy sees it. Rebuilding costs a pass over every record, and a node answers
   * several messages a second, so a view is reused for a short while. Our own accepts invalidate it;
   * a change made behind our back (an expiry) shows up within SNAPSHOT_REUSE_MS, which at worst costs
   * one needless exchange.
   */
  private view(now: number): Snapshot {
    const cached = this.snapshot;
    if (cached !== null && now >= cached.at && now - cached.at < SNAPSHOT_REUSE_MS) return cached.view;
    const view = this.index.snapshot();
    this.snapshot = { at: now, view };
    return view;
  }

  /** Runs `build` if `from` still has budget, and cuts its output to what the budget allows. */
  private answer(from: PeerId, now: number, build: () => Uint8Array[]): ReceiveResult {
    const allowed = this.allowance(from, now);
    if (allowed === 0) return { send: [], accepted: [], invalid: 0, dropped: 'overBudget' };
    const messages = build().slice(0, allowed);
    this.repliesThisWindow.set(from, (this.repliesThisWindow.get(from) ?? 0) + messages.length);
    return { send: messages.map((message) => ({ to: from, message })), accepted: [], invalid: 0 };
  }

  private allowance(from: PeerId, now: number): number {
    if (now >= this.budgetWindowStart + this.intervalMs || now < this.budgetWindowStart) {
      this.budgetWindowStart = now;
      this.repliesThisWindow.clear();
    }
    const used = this.repliesThisWindow.get(from);
    if (used === undefined && this.repliesThisWindow.size >= MAX_TRACKED_PEERS) return 0;
    return Math.max(0, Math.min(MAX_REPLIES_PER_MESSAGE, this.peerBudget - (used ?? 0)));
  }

  private makeHot(record: HotRecord): void {
    this.hot = this.hot.filter((h) => h.id !== record.id);
    this.hot.push(record);
    if (this.hot.length > MAX_HOT_RECORDS) this.hot.splice(0, this.hot.length - MAX_HOT_RECORDS);
  }

  /** Pushes waiting news to `rumorFanout` random peers each; waits for a tick if no peer is known. */
  private flushRumors(): GossipSend[] {
    if (this.hot.length === 0 || this.peers.length === 0) return [];
    const batch = this.hot.splice(0, MAX_RUMORS_PER_FLUSH);
    // Records for the same peer with the same hops left share messages.
    const batches = new Map<string, { to: PeerId; hops: number; records: GossipRecord[] }>();
    for (const h of batch) {
      const record = this.options.store.get(h.id);
      // Superseded since: the newer version was made hot itself when it arrived.
      if (record === undefined || record.version !== h.version) continue;
      for (const to of this.pick(this.peers, this.rumorFanout, h.from)) {
        const key = `${h.hops}/${to}`;
        const entry = batches.get(key) ?? { to, hops: h.hops, records: [] };
        entry.records.push(record);
        batches.set(key, entry);
      }
    }
    const send: GossipSend[] = [];
    for (const { to, hops, records } of batches.values()) {
      for (const message of encodeRecords(records, hops)) send.push({ to, message });
    }
    return send;
  }

  /** Up to `count` distinct peers, uniformly, never `exclude`. */
  private pick(peers: readonly PeerId[], count: number, exclude: PeerId | null): PeerId[] {
    const pool = exclude === null ? [...peers] : peers.filter((p) => p !== exclude);
    const n = Math.min(count, pool.length);
    for (let i = 0; i < n; i++) {
      const j = i + Math.floor(this.random() * (pool.length - i));
      [pool[i], pool[j]] = [pool[j]!, pool[i]!];
    }
    return pool.slice(0, n);
  }
}
