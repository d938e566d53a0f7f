/**
 * A simulated network for gossip: one process, a simulated clock, per-message latency and optional
 * loss, and members that join one after another through an inviter. Reusable by other gossip tests.
 */
import type { ExecutionContext } from 'ava';
import type { PeerId } from '../../core/base/keys.js';
import { Gossip, type GossipSend } from '../../core/gossip/gossip.js';
import type { GossipRecord, OfferResult, RecordStore } from '../../core/gossip/recordStore.js';
import { INNER_HEADER_SIZE, SEALED_OVERHEAD } from '../../core/overlayWire/constants.js';
import { namedPeer, peerName } from '../helpers/peerIds.js';
import { seededUniform } from '../helpers/seeded.js';

/** Records whose first byte is this are "validly signed" in the simulation; anything else is not. */
export const VALID_MARK = 0xce;

/** The in-test store: newest version wins; a record without the mark is invalid. */
export class MapStore implements RecordStore {
  readonly records = new Map<string, GossipRecord>();
  /** Names of members whose certificate this store holds, in arrival order: whom the node can reach. */
  readonly members: string[] = [];
  /** The same members' peer ids (namedPeer), for gossip's rounds. */
  readonly memberIds: PeerId[] = [];
  /** Kept in step with `records`, so summaries() allocates nothing (gossip calls it often). */
  private readonly summaryList: { id: string; version: number }[] = [];
  private readonly summaryAt = new Map<string, number>();

  summaries(): { id: string; version: number }[] {
    return this.summaryList;
  }

  get(id: string): GossipRecord | undefined {
    return this.records.get(id);
  }

  offer(record: GossipRecord, _now: number): OfferResult {
    if (record.bytes[0] !== VALID_MARK) return 'invalid';
    const held = this.records.get(record.id);
    if (held !== undefined && held.version >= record.version) return 'stale';
    this.records.set(record.id, record);
    const at = this.summaryAt.get(record.id);
    const summary = { id: record.id, version: record.version };
    if (at === undefined) {
      this.summaryAt.set(record.id, this.summaryList.length);
      this.summaryList.push(summary);
    } else this.summaryList[at] = summary;
    if (held === undefined && record.id.startsWith('cert:')) {
      this.members.push(record.id.slice(5));
      this.memberIds.push(namedPeer(record.id.slice(5)));
    }
    return 'accepted';
  }
}

export function certificate(name: string, size: number, random: () => number, version = 1): GossipRecord {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = Math.floor(random() * 256);
  bytes[0] = VALID_MARK;
  return { id: `cert:${name}`, version, bytes };
}

export interface SimOptions {
  readonly seed: number;
  readonly loss?: number;
  readonly latencyMs?: readonly [number, number];
  readonly certificateBytes?: number;
}

export interface SimNode {
  readonly name: string;
  readonly id: PeerId;
  readonly store: MapStore;
  readonly gossip: Gossip;
  wakeAt: number;
  messages: number;
  bytes: number;
}

interface Event {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

/** Wall-clock origin for the simulated clock (gossip passes `now` to the store as wall time). */
const EPOCH = 1_750_000_000_000;

export class GossipSim {
  readonly nodes = new Map<string, SimNode>();
  readonly random: () => number;
  now = EPOCH;
  private readonly queue: Event[] = [];
  private seq = 0;
  private readonly loss: number;
  private readonly latency: readonly [number, number];
  private readonly certificateBytes: number;

  constructor(options: SimOptions) {
    this.random = seededUniform(options.seed);
    this.loss = options.loss ?? 0;
    this.latency = options.latencyMs ?? [5, 60];
    this.certificateBytes = options.certificateBytes ?? 350;
  }

  /** Simulated milliseconds since the simulation began. */
  get elapsed(): number {
    return this.now - EPOCH;
  }

  /** The network's first member. */
  found(name: string): SimNode {
    const node = this.addNode(name);
    node.store.offer(certificate(name, this.certificateBytes, this.random), this.now);
    this.wake(node, this.now);
    return node;
  }

  /**
   * `name` joins through `inviter`: it starts knowing only its own and the inviter's certificate,
   * and the inviter learns (and publishes) the newcomer's certificate, as the join protocol leaves it.
   */
  join(name: string, inviterName: string): SimNode {
    const inviter = this.nodes.get(inviterName)!;
    const node = this.addNode(name);
    const cert = certificate(name, this.certificateBytes, this.random);
    node.store.offer(cert, this.now);
    node.store.offer(inviter.store.get(`cert:${inviterName}`)!, this.now);
    this.dispatch(inviter, inviter.gossip.publish(cert, this.now).send);
    this.wake(node, this.now);
    return node;
  }

  /** A member chosen uniformly, to act as inviter. */
  anyMember(): string {
    const names = [...this.nodes.keys()];
    return names[Math.floor(this.random() * names.length)]!;
  }

  /** Runs events until `until` (absolute simulated time) or until `stop()` holds, checked every `checkMs`. */
  runUntil(until: number, stop?: () => boolean, checkMs = 100): boolean {
    let nextCheck = this.now;
    while (this.queue.length > 0) {
      const next = this.queue[0]!;
      if (stop !== undefined && nextCheck <= next.at) {
        this.now = Math.max(this.now, nextCheck);
        if (stop()) return true;
        nextCheck += checkMs;
        continue;
      }
      if (next.at > until) break;
      this.pop();
      this.now = next.at;
      next.run();
    }
    this.now = Math.max(this.now, until);
    return stop?.() ?? false;
  }

  /** True when every member holds every member's certificate. */
  converged(): boolean {
    const n = this.nodes.size;
    for (const node of this.nodes.values()) if (node.store.members.length !== n) return false;
    return true;
  }

  private addNode(name: string): SimNode {
    const store = new MapStore();
    const id = namedPeer(name);
    const gossip = new Gossip({ self: id, store, random: this.random });
    const node: SimNode = {
      name,
      id,
      store,
      gossip,
      wakeAt: Number.POSITIVE_INFINITY,
      messages: 0,
      bytes: 0,
    };
    this.nodes.set(name, node);
    return node;
  }

  private wake(node: SimNode, at: number): void {
    node.wakeAt = at;
    this.schedule(at, () => {
      if (node.wakeAt !== at) return;
      const step = node.gossip.tick(this.now, node.store.memberIds);
      this.dispatch(node, step.send);
      this.wake(node, step.nextWakeAt);
    });
  }

  private dispatch(from: SimNode, sends: readonly GossipSend[]): void {
    for (const { to, message } of sends) {
      from.messages++;
      // What the node would put on the wire: the gossip body sealed in an overlay datagram.
      from.bytes += message.length + INNER_HEADER_SIZE + SEALED_OVERHEAD;
      if (this.random() < this.loss) continue;
      const target = this.nodes.get(peerName(to));
      if (target === undefined) continue;
      const [min, max] = this.latency;
      this.schedule(this.now + min + this.random() * (max - min), () => {
        this.dispatch(target, target.gossip.receive(from.id, message, this.now).send);
      });
    }
  }

  private schedule(at: number, run: () => void): void {
    const event = { at, seq: this.seq++, run };
    const q = this.queue;
    q.push(event);
    let i = q.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(q[i]!, q[parent]!)) break;
      [q[i], q[parent]] = [q[parent]!, q[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const q = this.queue;
    const last = q.pop()!;
    if (q.length === 0) return;
    q[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < q.length && before(q[l]!, q[m]!)) m = l;
      if (r < q.length && before(q[r]!, q[m]!)) m = r;
      if (m === i) return;
      [q[i], q[m]] = [q[m]!, q[i]!];
      i = m;
    }
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

const MEMBERS = 300;
const JOIN_EVERY_MS = 50;
/** Bound on simulated time after the last join; the claim is "within seconds". */

/** Joins 300 members one every 50 ms, runs to convergence, logs the figures and asserts it converged. */
/** Joins 300 members one after another; every member must hold every certificate `withinMs` after the last join. */
export function joinAll(t: ExecutionContext, sim: GossipSim, label: string, withinMs: number): void {
  const started = Date.now();
  sim.found('m0');
  for (let i = 1; i < MEMBERS; i++) {
    sim.runUntil(sim.now + JOIN_EVERY_MS);
    sim.join(`m${i}`, sim.anyMember());
  }
  const lastJoin = sim.now;
  const converged = sim.runUntil(lastJoin + withinMs, () => sim.converged());
  const afterLastJoin = (sim.now - lastJoin) / 1000;
  const nodes = [...sim.nodes.values()];
  const messages = nodes.map((n) => n.messages);
  const kib = nodes.map((n) => n.bytes / 1024);
  t.log(
    `${label}: ${MEMBERS} members, one join every ${JOIN_EVERY_MS} ms; converged ${afterLastJoin.toFixed(1)} s ` +
      `after the last join (${(sim.elapsed / 1000).toFixed(1)} s simulated in all, ${Date.now() - started} ms real); ` +
      `per node: messages median ${median(messages)} max ${Math.max(...messages)}, ` +
      `KiB sent median ${median(kib).toFixed(0)} max ${Math.max(...kib).toFixed(0)}`,
  );
  t.true(converged, `every member holds all ${MEMBERS} certificates within ${withinMs / 1000} s`);
}
