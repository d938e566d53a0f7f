/**
 * Members running Discovery over the simulated network: the test plays the node. It "seals" a
 * discovery message as [0x80][sender index][receiver index][encodeDiscovery bytes] — the real codec,
 * without the cryptography (sealing is tested in test/overlayWire) — plays each member's data path
 * as a relay (envelopes [0x84][0 to relay | 1 from relay][sender][destination][relay][datagram],
 * forwarded by a willing relay to the destination's direct endpoint, as native/src/datapath/relay.cc
 * does, without the MACs), moves data packets along each peer's chosen path, and gossips a member's
 * candidates to the others with a delay when they change (as the endpoint record would travel).
 *
 * A member can start again (restart): it draws a new relay epoch, and the others learn it only
 * when its new endpoint record reaches them. Until then an envelope between it and a member that
 * knows its old epoch does not open at the far end, as the real pair key (derived from both
 * members' epochs) would not.
 */
import type { Endpoint } from '../../core/base/endpoint.js';
import { type PeerId, peerId } from '../../core/base/keys.js';
import { FILTER_KNOCK_WAIT_MS } from '../../core/discovery/filterTest.js';
import {
  Discovery,
  type DiscoveryOutput,
  type DiscoveryPeer,
  type PathChanged,
} from '../../core/discovery/index.js';
import { type DiscoveryMessage, decodeDiscovery, encodeDiscovery } from '../../core/discovery/messages.js';
import { ep, epText } from '../helpers/endpoints.js';
import { seededUniform } from '../helpers/seeded.js';
import { type Filtering, type SimHost, type SimNat, SimNet } from './netSim.js';

const SEALED = 0x80;
const ENVELOPE = 0x84;
const TO_RELAY = 0;
const FROM_RELAY = 1;
const DATA = 0x01;
export const PORT = 51820;

export interface DataReceipt {
  readonly from: string;
  readonly seq: number;
  readonly at: number;
  readonly relayedBy?: string;
}

export interface Member {
  readonly name: string;
  readonly id: PeerId;
  readonly index: number;
  readonly host: SimHost;
  readonly relay: boolean;
  discovery: Discovery;
  announced: Endpoint[];
  wakeAt: number;
  readonly changes: (PathChanged & { peerName: string })[];
  readonly data: DataReceipt[];
  /** Data datagrams this member forwarded as a relay, by "from>to" names. */
  readonly relayedData: Map<string, number>;
  /** Switched off (goOffline): hears nothing, sends nothing, as a machine that lost power. */
  offline?: boolean;
  /** Its relay epoch: a new one each time it starts (restart). */
  epoch: number;
  /** The epoch it knows each other member by (from that member's endpoint record). */
  readonly knownEpochs: Map<Member, number>;
}

export class SimWorld {
  readonly net: SimNet;
  readonly members: Member[] = [];
  private readonly resumes = new Map<Member, SimHost['receive']>();
  private readonly random: () => number;
  /** Sockets opened for one datagram (a send's `fresh`) so far: each gets a port of its own. */
  private freshSockets = 0;
  /** Where each such socket was, "ip:port" on its member's address. */
  private readonly freshEndpoints = new Set<string>();

  /** Tuples `nat` took toward members' own sockets: those a filter test's knock took on purpose left out. */
  tuplesTakenTowardMembers(nat: SimNat): number {
    return nat.takenToward.filter((dest) => !this.freshEndpoints.has(dest)).length;
  }

  constructor(
    seed: number,
    private readonly gossipDelayMs = 1_000,
    loss = 0,
    jitterMs = 0,
    internetLatencyMs = 20,
  ) {
    this.random = seededUniform(seed);
    this.net = new SimNet({ random: this.random, loss, jitterMs, internetLatencyMs });
  }

  /** A NAT router; `firewall: false` makes it a plain MASQUERADE (netSim.ts). */
  nat(
    name: string,
    publicIp: string,
    mapping: 'endpoint-independent' | 'endpoint-dependent',
    filtering?: Filtering,
    options: { firewall?: boolean; keepPort?: boolean } = {},
  ): SimNat {
    return this.net.addNat(name, publicIp, mapping, filtering, options);
  }

  /** A member on `ip`, behind `nat` if given. Call start() once all are added. */
  member(name: string, ip: string, nat?: SimNat, options: { relay?: boolean } = {}): Member {
    const index = this.members.length;
    const key = new Uint8Array(32);
    key[0] = index;
    key.set(Buffer.from(name), 1);
    const host = this.net.addHost(name, ip, PORT, nat);
    const m: Member = {
      name,
      id: peerId(key),
      index,
      host,
      relay: options.relay ?? true,
      discovery: undefined as unknown as Discovery,
      announced: [ep(`${ip}:${PORT}`)],
      wakeAt: Number.POSITIVE_INFINITY,
      changes: [],
      data: [],
      relayedData: new Map(),
      epoch: 0,
      knownEpochs: new Map(),
    };
    m.discovery = this.newDiscovery(m, 0);
    host.receive = (bytes, from) => this.onDatagram(m, bytes, from);
    this.members.push(m);
    return m;
  }

  /**
   * Every member learns the others' records (as after gossip) and starts probing: at `now`, or the
   * i-th member `staggerMs` × i later (members coming up one after another, as they join).
   */
  start(staggerMs = 0): void {
    this.members.forEach((m, i) => {
      const begin = () => this.handle(m, m.discovery.setPeers(this.peersOf(m), this.net.now));
      if (staggerMs === 0) begin();
      else this.net.at(this.net.now + i * staggerMs, begin);
    });
  }

  /**
   * `m` starts again from its state (kill -9, then up): a new Discovery and a new relay epoch. The
   * others learn the epoch `learnedAfterMs` later, as its new endpoint record reaches them.
   */
  restart(m: Member, learnedAfterMs: number): void {
    m.epoch++;
    m.wakeAt = Number.POSITIVE_INFINITY;
    m.discovery = this.newDiscovery(m, this.net.now);
    this.handle(m, m.discovery.setPeers(this.peersOf(m), this.net.now));
    this.net.at(this.net.now + learnedAfterMs, () => {
      for (const other of this.members) {
        if (other === m) continue;
        other.knownEpochs.set(m, m.epoch);
        this.handle(other, other.discovery.setPeers(this.peersOf(other), this.net.now));
      }
    });
  }

  /** `m` reads its interfaces again (the node does every 15 s) and finds `local`. */
  readLocal(m: Member, local: readonly string[]): void {
    this.handle(m, m.discovery.setLocal(local.map(ep), this.net.now));
  }

  /** `m`'s node says whether traffic flows to `peer` (the node learns it from its tunnel's counters). */
  setActive(m: Member, peer: Member, active: boolean): void {
    this.handle(m, m.discovery.setActive(peer.id, active, this.net.now));
  }

  run(untilMs: number): void {
    this.net.runUntil(untilMs);
  }

  byName(name: string): Member {
    return this.members.find((m) => m.name === name)!;
  }

  /** `from` sends a data packet to `to` every `everyMs` between the two times, along its chosen path. */
  stream(from: Member, to: Member, everyMs: number, startMs: number, stopMs: number): void {
    let seq = 0;
    const tick = () => {
      if (this.net.now > stopMs) return;
      this.sendData(from, to, seq++);
      this.net.at(this.net.now + everyMs, tick);
    };
    this.net.at(startMs, tick);
  }

  /** The member's host moves to another address (another LAN address, say); its node notices. */
  moveHost(m: Member, ip: string): void {
    m.host.ip = ip;
    m.announced = [ep(`${ip}:${PORT}`)];
    this.handle(m, m.discovery.setLocal(m.announced, this.net.now));
  }

  /** `m` goes away without a word (power cut, laptop lid): it hears and sends nothing from now on. */
  goOffline(m: Member): void {
    m.offline = true;
    const receive = m.host.receive;
    m.host.receive = () => {};
    this.resumes.set(m, receive);
  }

  /** `m` is back, with the state it had when it went (a laptop waking up): it ticks at once. */
  goOnline(m: Member): void {
    m.offline = false;
    const receive = this.resumes.get(m);
    if (receive) m.host.receive = receive;
    m.wakeAt = Number.POSITIVE_INFINITY;
    this.handle(m, m.discovery.tick(this.net.now));
  }

  /** First time `m`'s path to `peer` became `path` (after `afterMs`), or undefined. */
  firstPath(m: Member, peer: Member, path: 'direct' | 'relay', afterMs = 0): PathChanged | undefined {
    return m.changes.find((c) => c.peer === peer.id && c.path === path && c.at >= afterMs);
  }

  /** Largest gap between consecutive data packets `to` received from `from` within the window. */
  largestGap(to: Member, from: Member, startMs: number, endMs: number): number {
    const times = to.data
      .filter((d) => d.from === from.name && d.at >= startMs && d.at <= endMs)
      .map((d) => d.at);
    let gap = 0;
    for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
    if (times.length === 0) return endMs - startMs;
    return Math.max(gap, times[0]! - startMs, endMs - times[times.length - 1]!);
  }

  // --- the node's part ---------------------------------------------------------------------------

  private peersOf(m: Member): DiscoveryPeer[] {
    return this.members
      .filter((p) => p !== m)
      .map((p) => ({
        id: p.id,
        name: p.name,
        candidates: p.announced,
        relay: p.relay,
        epoch: String(m.knownEpochs.get(p) ?? 0),
      }));
  }

  private newDiscovery(m: Member, now: number): Discovery {
    return new Discovery({ self: m.id, now, local: m.announced, random: this.random });
  }

  /** Whether an envelope from `from` would open at `to`: each knows the other's current epoch. */
  private pairKeyAgrees(from: Member, to: Member): boolean {
    return (from.knownEpochs.get(to) ?? 0) === to.epoch && (to.knownEpochs.get(from) ?? 0) === from.epoch;
  }

  private sendData(from: Member, to: Member, seq: number): void {
    const bytes = Uint8Array.of(DATA, from.index, to.index, ...Buffer.from(String(seq)));
    const choice = from.discovery.path(to.id);
    if (choice.path === 'direct') this.net.send(from.host, epText(choice.endpoint), bytes);
    else if (choice.path === 'relay') this.sendVia(from, this.byId(choice.via), to, bytes);
  }

  /** `from`'s data path wraps `bytes` for `to` and sends them to relay `relay` at its direct endpoint. */
  private sendVia(from: Member, relay: Member, to: Member, bytes: Uint8Array): void {
    const toRelay = from.discovery.path(relay.id);
    if (toRelay.path !== 'direct') return;
    this.net.send(
      from.host,
      epText(toRelay.endpoint),
      Uint8Array.of(ENVELOPE, TO_RELAY, from.index, to.index, relay.index, ...bytes),
    );
  }

  /** An envelope at member `m`: forwarded if `m` is its relay and willing, delivered if it is for `m`. */
  private onEnvelope(m: Member, bytes: Uint8Array): void {
    const [, flags, fromIndex, toIndex, relayIndex] = bytes;
    const sender = this.members[fromIndex!];
    const to = this.members[toIndex!];
    const relay = this.members[relayIndex!];
    if (!sender || !to || !relay || sender === to) return;
    const inner = bytes.subarray(5);
    if (flags === TO_RELAY && relay === m && m.relay && to !== m) {
      // One hop: to the destination's own endpoint, never along its path.
      const c = m.discovery.path(to.id);
      if (c.path !== 'direct') return;
      if (inner[0] === DATA) {
        const key = `${sender.name}>${to.name}`;
        m.relayedData.set(key, (m.relayedData.get(key) ?? 0) + 1);
      }
      const out = bytes.slice();
      out[1] = FROM_RELAY;
      this.net.send(m.host, epText(c.endpoint), out);
    } else if (flags === FROM_RELAY && to === m && relay !== m) {
      if (inner[0] === ENVELOPE || !this.pairKeyAgrees(sender, m)) return;
      // A sealed datagram is from whom its seal says; the sim's seal is the sender byte.
      if (inner[0] === SEALED && inner[1] !== sender.index) return;
      if (inner[0] === DATA && inner[1] !== sender.index) return;
      this.onDatagram(m, inner, '', relay);
    }
  }

  private seal(from: Member, to: Member, message: DiscoveryMessage): Uint8Array {
    return Uint8Array.of(SEALED, from.index, to.index, ...encodeDiscovery(message));
  }

  private open(m: Member, bytes: Uint8Array): { from: Member; message: DiscoveryMessage } | undefined {
    if (bytes[0] !== SEALED || bytes[2] !== m.index) return undefined;
    const from = this.members[bytes[1]!];
    const decoded = decodeDiscovery(bytes.subarray(3));
    return from && decoded.ok ? { from, message: decoded.message } : undefined;
  }

  private onDatagram(m: Member, bytes: Uint8Array, from: string, via?: Member): void {
    if (bytes[0] === ENVELOPE && via === undefined) {
      this.onEnvelope(m, bytes);
      return;
    }
    if (bytes[0] === DATA) {
      if (bytes[2] !== m.index) return;
      const sender = this.members[bytes[1]!]!;
      const seq = Number(Buffer.from(bytes.subarray(3)).toString());
      m.data.push({ from: sender.name, seq, at: this.net.now, ...(via && { relayedBy: via.name }) });
      return;
    }
    const opened = this.open(m, bytes);
    if (!opened) return;
    // The sim's wire carries text: parsed here, as the node parses the data path's events.
    const source = via ? { via: via.id } : { endpoint: ep(from) };
    this.handle(m, m.discovery.receive(opened.from.id, opened.message, source, this.net.now));
  }

  private handle(m: Member, out: DiscoveryOutput): void {
    if (m.offline) return;
    /** The fresh socket's port per member this batch, as the node's paths.ts fills it in. */
    const fresh = new Map<string, number>();
    for (const s of out.send) {
      const to = this.byId(s.to);
      let message = s.message;
      if (message.kind === 'filterTest' && message.step === 'port') {
        const port = fresh.get(s.to);
        if (port === undefined) continue;
        message = { ...message, ports: [port] };
      }
      const bytes = this.seal(m, to, message);
      if (s.via) this.sendVia(m, this.byId(s.via), to, bytes);
      else if (s.fresh) fresh.set(s.to, this.sendFresh(m, s.endpoint, bytes));
      else this.net.send(m.host, epText(s.endpoint), bytes, s.ttl);
    }
    for (const e of out.events) {
      if (e.type === 'pathChanged') m.changes.push({ ...e, peerName: this.byId(e.peer).name });
      if (e.type === 'candidatesChanged') this.gossipCandidates(m, [...e.candidates]);
    }
    this.schedule(m, out.nextWakeAt);
  }

  /**
   * From a socket opened for this datagram, on `m`'s address, which hands what it hears to `m` for
   * FILTER_KNOCK_WAIT_MS and closes (as paths.ts's). Its port.
   */
  private sendFresh(m: Member, endpoint: Endpoint, bytes: Uint8Array): number {
    const n = ++this.freshSockets;
    const port = 30_000 + n;
    this.freshEndpoints.add(`${m.host.ip}:${port}`);
    const socket = this.net.addHost(`${m.name}~${n}`, m.host.ip, port, m.host.nat);
    socket.receive = (b, from) => this.onDatagram(m, b, from);
    this.net.send(socket, epText(endpoint), bytes);
    this.net.at(this.net.now + FILTER_KNOCK_WAIT_MS, () => this.net.removeHost(socket));
    return port;
  }

  private schedule(m: Member, at: number): void {
    if (at === m.wakeAt) return;
    m.wakeAt = at;
    this.net.at(at, () => {
      if (m.wakeAt !== at) return;
      m.wakeAt = Number.POSITIVE_INFINITY;
      this.handle(m, m.discovery.tick(this.net.now));
    });
  }

  private gossipCandidates(m: Member, candidates: Endpoint[]): void {
    this.net.at(this.net.now + this.gossipDelayMs, () => {
      m.announced = candidates;
      for (const other of this.members) {
        if (other !== m) this.handle(other, other.discovery.setPeers(this.peersOf(other), this.net.now));
      }
    });
  }

  private byId(id: string): Member {
    return this.members.find((p) => p.id === id)!;
  }
}
