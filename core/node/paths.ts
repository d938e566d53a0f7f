/**
 * The node's side of discovery (core/discovery): feeds it the members and the discovery messages
 * that arrive sealed, carries out its sends, and moves each member's WireGuard traffic to the
 * endpoint it chooses. Pure decisions stay in core/discovery; this is the glue with I/O.
 *
 * A relayed path carries everything in the data path's envelopes through the relay member: the
 * WireGuard traffic (routeVia) and discovery's probes of the route (sendVia, which goes through the
 * relay named whatever the member's own path is, so a relay route is probed while the traffic
 * still goes direct). A route's liveness is thus measured over the envelopes that carry its data.
 *
 * Discovery's messages are encoded and decoded here and nowhere else in the node: what arrives
 * sealed comes in as bytes (receive), what discovery sends goes out as bytes (the hooks), and the
 * pings of `overlay ping` (Pinger) are answered by pongs this module picks out before discovery.
 */

import { hex } from '../base/bytes.js';
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { BirthdayCounters } from '../discovery/birthday.js';
import {
  Discovery,
  type DiscoveryMessage,
  type DiscoveryOutput,
  type DiscoveryPeer,
  decodeDiscovery,
  encodeDiscovery,
  FILTER_KNOCK_WAIT_MS,
  type FilterCounters,
  type Filtering,
  type MappingProtocol,
  type NatClassification,
  type NatReport,
  type PathSnapshot,
  type ProbeCounters,
  type Source,
} from '../discovery/index.js';
import type { Arrival } from '../tunnel/types.js';
import { HoleSockets, type HoleTransport } from './holeSockets.js';
import { PathTiming } from './pathTiming.js';
import type { DesiredPeer } from './peerSync.js';
import { Pinger, type Pong } from './pinger.js';

/** A member whose tunnel moved no packet for this long is idle: its path is checked less often. */
const IDLE_AFTER_MS = 10_000;

export interface PathsHooks {
  /**
   * Seals `body` (a discovery message) for member `to` (WireGuard key, base64) and sends it, from
   * extra socket `socket` (a hole of birthday probing's, holeSockets.ts) when given; returns when
   * the data path sent it (ms, CLOCK_MONOTONIC), when it says; with IP TTL `ttl` when given (an
   * opener, core/discovery/opening.ts).
   */
  send(to: PeerId, body: Uint8Array, endpoint: Endpoint, socket?: number, ttl?: number): number | undefined;
  /** Seals `body` for member `to`, and sends it in a relay envelope through member `via`. */
  sendVia(to: PeerId, body: Uint8Array, via: PeerId): void;
  /** Traffic to `peer` should go to this direct endpoint now. */
  routeTo(peer: PeerId, endpoint: Endpoint): void;
  /** Traffic to `peer` should go through relay member `via` now. */
  routeVia(peer: PeerId, via: PeerId): void;
  /** The data path's extra sockets, for birthday probing's holes (holeSockets.ts). */
  readonly holes: HoleTransport;
  /** Our own candidates changed (a new reflexive address): announce them. */
  candidatesChanged(candidates: readonly Endpoint[]): void;
  /** The protocol that maps our port at the gateway (core/portmap), told to members in pongs. */
  mappedBy?(): MappingProtocol | null;
  log(line: string): void;
}

export class NodePaths {
  private readonly discovery: Discovery;
  private readonly holes: HoleSockets;
  /** `overlay ping`'s pings in flight. */
  private readonly pinger = new Pinger();
  /** Discovery's pings and pongs timed where the data path sends and receives them. */
  private readonly timing: PathTiming;
  /** What each member says of its own NAT, from its latest pong (by WireGuard key). */
  private readonly peerNat = new Map<PeerId, NatReport>();
  /** Members' names by WireGuard key, for where a pong came from ("via NAME"). */
  private names = new Map<PeerId, string>();
  /** Members whose tunnel moved packets within IDLE_AFTER_MS, and when it last did. */
  private readonly lastTraffic = new Map<PeerId, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Armed for the first active member to fall idle, while any is active. */
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The filter test's fresh sockets still listening, each closed by its timer (sendFresh). */
  private readonly freshSockets = new Map<NodeJS.Timeout, number>();
  /** Said bye (farewell): sends nothing more. */
  private leaving = false;

  constructor(
    self: PeerId,
    local: readonly Endpoint[],
    announced: readonly Endpoint[],
    private readonly hooks: PathsHooks,
    timing = new PathTiming(),
  ) {
    this.discovery = new Discovery({ self, now: Date.now(), local, announced });
    this.holes = new HoleSockets(hooks.holes);
    this.timing = timing;
  }

  /** The tunnel's peers by key (syncPeers'): discovery keeps paths to the full members among them. */
  setPeers(peers: ReadonlyMap<PeerId, DesiredPeer>): void {
    const members: DiscoveryPeer[] = [];
    for (const [id, p] of peers) {
      if (p.member.certificate.kind !== 'member') continue;
      const { name } = p.member.certificate;
      members.push({
        id,
        name,
        candidates: p.candidates,
        mapped: p.mapped,
        relay: p.member.relay,
        ...(p.member.relayEpoch && { epoch: hex(p.member.relayEpoch) }),
      });
    }
    const now = Date.now();
    // A new member's path starts out active (its first probes are a burst anyway) and falls idle
    // IDLE_AFTER_MS later unless traffic flows.
    for (const p of members) if (!this.names.has(p.id)) this.lastTraffic.set(p.id, now);
    this.names = new Map(members.map((p) => [p.id, p.name]));
    for (const id of this.lastTraffic.keys()) if (!this.names.has(id)) this.lastTraffic.delete(id);
    for (const id of this.peerNat.keys()) if (!this.names.has(id)) this.peerNat.delete(id);
    this.apply(this.discovery.setPeers(members, now));
    this.armIdleCheck(now);
  }

  setLocal(local: readonly Endpoint[]): void {
    this.apply(this.discovery.setLocal(local, Date.now()));
  }

  /** A STUN server (--stun) at `server` sees us at `observed`. */
  noteReflexive(server: Endpoint, observed: Endpoint): void {
    this.apply(this.discovery.noteReflexive(server, observed, Date.now()));
  }

  /**
   * A discovery message (`body`, still encoded) from authenticated member `from`, arrived from a UDP
   * endpoint or through a relay, received by the data path at `arrivedAt` (monotonic ms). A pong to
   * our own `overlay ping` is settled here (and answered from where it came: an address, or "via
   * NAME" through a relay); everything else is discovery's, a pong with its round trip as the data
   * path timed it (pathTiming.ts).
   */
  receive(from: PeerId, body: Uint8Array, source: Source, arrival: Arrival = {}): void {
    const decoded = decodeDiscovery(body);
    if (!decoded.ok) return;
    // On one of our holes: it may have won, and then the answer must leave from it too.
    const hole = this.holes.holeOf(from, arrival.socket);
    if (hole !== undefined && 'endpoint' in source) {
      const birthday = this.discovery.birthday;
      const before = birthday.holeFor(from, source.endpoint);
      birthday.heardOnHole(from, source.endpoint, hole);
      if (before === undefined && birthday.holeFor(from, source.endpoint) === hole) {
        this.holes.bind(from, source.endpoint, hole);
        this.hooks.log(
          `birthday: ${this.nameOf(from)} reached us on hole ${hole} from ${formatEndpoint(source.endpoint)}`,
        );
      }
    }
    const m = decoded.message;
    let rttMs: number | undefined;
    if (m.kind === 'pong') {
      // Text: `overlay ping` shows it.
      const answeredFrom =
        'via' in source
          ? `via ${this.names.get(source.via) ?? source.via.slice(0, 8)}`
          : formatEndpoint(source.endpoint);
      if (this.pinger.receivePong(m.txid, answeredFrom)) return;
      rttMs = this.timing.rttMs(m.txid, arrival.at, m.heldUs);
      if (m.nat && this.names.has(from)) this.peerNat.set(from, m.nat);
    } else if (m.kind === 'ping') this.timing.pingArrived(m.txid, arrival.at);
    try {
      this.apply(this.discovery.receive(from, m, source, Date.now(), rttMs));
    } finally {
      this.timing.answered();
    }
  }

  /** One `overlay ping`: the encoded ping to seal and send, and its pong (null after `timeoutMs`). */
  ping(timeoutMs: number): { body: Uint8Array; pong: Promise<Pong | null> } {
    return this.pinger.ping(timeoutMs);
  }

  snapshot(peer: PeerId): PathSnapshot | undefined {
    return this.discovery.snapshot(peer, Date.now());
  }

  /**
   * Member `peer`'s tunnel moved packets (the tunnel says so as it reads its counters, which it
   * does only while traffic flows): discovery checks the paths that carry traffic every second
   * (a dead path is left within 3 s), idle ones only as often as a NAT needs (IDLE_HEARTBEAT_MS).
   * A path that wakes is checked at once, so one that died while idle is left within a few
   * seconds of the first packet.
   */
  noteTraffic(peer: PeerId): void {
    if (!this.names.has(peer)) return;
    const now = Date.now();
    const wasIdle = !this.lastTraffic.has(peer);
    this.lastTraffic.set(peer, now);
    if (wasIdle) this.apply(this.discovery.setActive(peer, true, now));
    this.armIdleCheck(now);
  }

  /** The direct endpoint discovery chose for `peer`; undefined while it has none (relayed, or still looking). */
  directEndpoint(peer: PeerId): Endpoint | undefined {
    const c = this.discovery.path(peer);
    return c.path === 'direct' ? c.endpoint : undefined;
  }

  candidates(): Endpoint[] {
    return this.discovery.candidates(Date.now());
  }

  /** What members asked of our probes and did not get (introductions unasked, probes refused), and birthday probing's counts. */
  probeCounters(): ProbeCounters & BirthdayCounters & FilterCounters {
    return this.discovery.probeCounters;
  }

  /** What the vantage points say of the NAT in front of us (natBehaviour.ts), and its filter (filterTest.ts). */
  natClassification(): NatClassification & { filtering: Filtering | null } {
    return this.discovery.natClassification(Date.now());
  }

  /** What member `peer` says of its own NAT in its pongs; undefined before one said. */
  peerNatReport(peer: PeerId): NatReport | undefined {
    return this.peerNat.get(peer);
  }

  /** Tells every member we have a path to that this node is going away (bye). */
  farewell(): void {
    if (this.stopped) return;
    this.leaving = false;
    this.apply({ send: this.discovery.farewell(), events: [], nextWakeAt: Number.POSITIVE_INFINITY });
    // Nothing after the bye: a ping or a pong sent while the node winds down would give the
    // members a path to it again, and show it online until that path's silence ran out.
    this.leaving = true;
  }

  stop(): void {
    this.pinger.close();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    for (const [timer, socket] of this.freshSockets) {
      clearTimeout(timer);
      this.hooks.holes.closeSocket(socket);
    }
    this.freshSockets.clear();
  }

  /** One timer for the first active member to fall idle: none while every path is idle. */
  private armIdleCheck(now: number): void {
    if (this.idleTimer !== undefined || this.stopped || this.lastTraffic.size === 0) return;
    const first = Math.min(...this.lastTraffic.values());
    this.idleTimer = setTimeout(() => this.idleCheck(), Math.max(0, first + IDLE_AFTER_MS - now));
  }

  private idleCheck(): void {
    this.idleTimer = undefined;
    if (this.stopped) return;
    const now = Date.now();
    for (const [peer, at] of this.lastTraffic) {
      if (now - at < IDLE_AFTER_MS) continue;
      this.lastTraffic.delete(peer);
      this.apply(this.discovery.setActive(peer, false, now));
    }
    this.armIdleCheck(now);
  }

  /** A pong of ours carries how long we held the ping, and what we know of our NAT (messages.ts). */
  private stamped(m: DiscoveryMessage): DiscoveryMessage {
    if (m.kind !== 'pong') return m;
    const held = this.timing.heldUs(m.txid);
    const nat = this.discovery.natClassification(Date.now());
    return {
      ...m,
      ...(held !== undefined && { heldUs: held }),
      nat: { mapping: nat.mapping, portKept: nat.portKept, portMapping: this.hooks.mappedBy?.() ?? null },
    };
  }

  /**
   * From a socket of its own, a port the member never sent to (filterTest.ts), which listens a few
   * seconds for the member's knock (its datagrams come in as any other's) and closes. Its port; 0
   * when none could open. At most FILTER_HELPS_PER_MINUTE are open at once: one per help.
   */
  private sendFresh(to: PeerId, body: Uint8Array, endpoint: Endpoint): number {
    const opened = this.hooks.holes.openSocketWithPort?.();
    if (opened === undefined) return 0;
    this.hooks.send(to, body, endpoint, opened.socket);
    const timer = setTimeout(() => {
      this.freshSockets.delete(timer);
      this.hooks.holes.closeSocket(opened.socket);
    }, FILTER_KNOCK_WAIT_MS);
    this.freshSockets.set(timer, opened.socket);
    return opened.port;
  }

  /** A member's name for the log; a key prefix only for one we no longer know. */
  private nameOf(id: PeerId): string {
    return this.names.get(id) ?? id.slice(0, 8);
  }

  private apply(out: DiscoveryOutput): void {
    if (this.stopped || this.leaving) return;
    /** Per member, a filter test's fresh socket's port; 0 if none could open (our words would be false). */
    const fresh = new Map<string, number>();
    for (const s of out.send) {
      let m = s.message;
      if (m.kind === 'filterTest' && (m.step === 'sent' || m.step === 'port')) {
        const port = fresh.get(s.to);
        if (port === 0) continue;
        if (m.step === 'port') {
          if (port === undefined) continue;
          m = { ...m, ports: [port] };
        }
      }
      const body = encodeDiscovery(this.stamped(m));
      let sentAt: number | undefined;
      if (s.via !== undefined) this.hooks.sendVia(s.to, body, s.via);
      else if (s.fresh) fresh.set(s.to, this.sendFresh(s.to, body, s.endpoint));
      else if (s.hole === undefined) sentAt = this.hooks.send(s.to, body, s.endpoint, undefined, s.ttl);
      else {
        const socket = this.holes.socketFor(s.to, s.hole);
        if (socket === undefined) continue;
        sentAt = this.hooks.send(s.to, body, s.endpoint, socket, s.ttl);
      }
      // The data path's stamp, taken before the send; else now, after it (the send is synchronous).
      if (m.kind === 'ping') this.timing.pingSent(m.txid, sentAt);
      else if (m.kind === 'pong') this.timing.pongSent(m.txid, sentAt);
    }
    for (const e of out.events) {
      if (e.type === 'pathChanged') {
        if (e.path === 'direct') this.hooks.routeTo(e.peer, e.endpoint);
        else if (e.path === 'relay') this.hooks.routeVia(e.peer, e.via);
        this.hooks.log(
          `path to ${this.nameOf(e.peer)}: ${e.path}${e.path === 'direct' ? ` ${formatEndpoint(e.endpoint)}` : e.path === 'relay' ? ` via ${this.nameOf(e.via)}` : ''} (${e.reason})`,
        );
      } else if (e.type === 'candidatesChanged') {
        this.hooks.candidatesChanged(e.candidates);
      } else if (e.type === 'holesClosed') {
        this.holes.close(e.peer, e.keep, e.only);
      }
    }
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(20, out.nextWakeAt - Date.now());
    if (Number.isFinite(delay))
      this.timer = setTimeout(() => this.apply(this.discovery.tick(Date.now())), delay);
  }
}
