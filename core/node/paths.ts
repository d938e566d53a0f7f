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

import type { BirthdayCounters } from '../discovery/birthday.js';
import {
  Discovery,
  type DiscoveryOutput,
  type DiscoveryPeer,
  decodeDiscovery,
  encodeDiscovery,
  type PathSnapshot,
  type ProbeCounters,
  type Source,
} from '../discovery/index.js';
import { HoleSockets, type HoleTransport } from './holeSockets.js';
import type { DesiredPeer } from './peerSync.js';
import { Pinger, type Pong } from './pinger.js';

/** A member whose tunnel moved no packet for this long is idle: its path is checked less often. */
const IDLE_AFTER_MS = 10_000;

export interface PathsHooks {
  /**
   * Seals `body` (a discovery message) for member `to` (WireGuard key, base64) and sends it, from
   * extra socket `socket` (a hole of birthday probing's, holeSockets.ts) when given.
   */
  send(to: string, body: Uint8Array, endpoint: string, socket?: number): void;
  /** Seals `body` for member `to`, and sends it in a relay envelope through member `via`. */
  sendVia(to: string, body: Uint8Array, via: string): void;
  /** Traffic to `peer` should go to this direct endpoint now. */
  routeTo(peer: string, endpoint: string): void;
  /** Traffic to `peer` should go through relay member `via` now. */
  routeVia(peer: string, via: string): void;
  /** The data path's extra sockets, for birthday probing's holes (holeSockets.ts). */
  readonly holes: HoleTransport;
  /** Our own candidates changed (a new reflexive address): announce them. */
  candidatesChanged(candidates: readonly string[]): void;
  log(line: string): void;
}

export class NodePaths {
  private readonly discovery: Discovery;
  private readonly holes: HoleSockets;
  /** `overlay ping`'s pings in flight. */
  private readonly pinger = new Pinger();
  /** Members' names by WireGuard key, for where a pong came from ("via NAME"). */
  private names = new Map<string, string>();
  /** Members whose tunnel moved packets within IDLE_AFTER_MS, and when it last did. */
  private readonly lastTraffic = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  /** Armed for the first active member to fall idle, while any is active. */
  private idleTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Said bye (farewell): sends nothing more. */
  private leaving = false;

  constructor(
    self: string,
    local: readonly string[],
    announced: readonly string[],
    private readonly hooks: PathsHooks,
  ) {
    this.discovery = new Discovery({ self, now: Date.now(), local, announced });
    this.holes = new HoleSockets(hooks.holes);
  }

  /** The tunnel's peers by key (syncPeers'): discovery keeps paths to the full members among them. */
  setPeers(peers: ReadonlyMap<string, DesiredPeer>): void {
    const members: DiscoveryPeer[] = [];
    for (const [id, p] of peers) {
      if (p.member.certificate.kind !== 'member') continue;
      const { name } = p.member.certificate;
      members.push({
        id,
        name,
        candidates: p.member.endpoints,
        mapped: p.member.mappedEndpoints,
        relay: p.member.relay,
      });
    }
    const now = Date.now();
    // A new member's path starts out active (its first probes are a burst anyway) and falls idle
    // IDLE_AFTER_MS later unless traffic flows.
    for (const p of members) if (!this.names.has(p.id)) this.lastTraffic.set(p.id, now);
    this.names = new Map(members.map((p) => [p.id, p.name]));
    for (const id of this.lastTraffic.keys()) if (!this.names.has(id)) this.lastTraffic.delete(id);
    this.apply(this.discovery.setPeers(members, now));
    this.armIdleCheck(now);
  }

  setLocal(local: readonly string[]): void {
    this.apply(this.discovery.setLocal(local, Date.now()));
  }

  /** A STUN server (--stun) at `server` sees us at `observed`. */
  noteReflexive(server: string, observed: string): void {
    this.apply(this.discovery.noteReflexive(server, observed, Date.now()));
  }

  /**
   * A discovery message (`body`, still encoded) from authenticated member `from`, arrived from a UDP
   * endpoint or through a relay. A pong to our own `overlay ping` is settled here (and answered from
   * where it came: an address, or "via NAME" through a relay); everything else is discovery's.
   */
  receive(from: string, body: Uint8Array, source: Source, socket?: number): void {
    const decoded = decodeDiscovery(body);
    if (!decoded.ok) return;
    // On one of our holes: it may have won, and then the answer must leave from it too.
    const hole = this.holes.holeOf(from, socket);
    if (hole !== undefined && 'endpoint' in source) {
      const birthday = this.discovery.birthday;
      const before = birthday.holeFor(from, source.endpoint);
      birthday.heardOnHole(from, source.endpoint, hole);
      if (before === undefined && birthday.holeFor(from, source.endpoint) === hole) {
        this.holes.bind(from, source.endpoint, hole);
        this.hooks.log(`birthday: ${this.nameOf(from)} reached us on hole ${hole} from ${source.endpoint}`);
      }
    }
    const m = decoded.message;
    if (m.kind === 'pong') {
      const answeredFrom =
        'via' in source ? `via ${this.names.get(source.via) ?? source.via.slice(0, 8)}` : source.endpoint;
      if (this.pinger.receivePong(m.txid, answeredFrom)) return;
    }
    this.apply(this.discovery.receive(from, m, source, Date.now()));
  }

  /** One `overlay ping`: the encoded ping to seal and send, and its pong (null after `timeoutMs`). */
  ping(timeoutMs: number): { body: Uint8Array; pong: Promise<Pong | null> } {
    return this.pinger.ping(timeoutMs);
  }

  snapshot(peer: string): PathSnapshot | undefined {
    return this.discovery.snapshot(peer, Date.now());
  }

  /**
   * Member `peer`'s tunnel moved packets (the tunnel says so as it reads its counters, which it
   * does only while traffic flows): discovery checks the paths that carry traffic every second
   * (a dead path is left within 3 s), idle ones only as often as a NAT needs (IDLE_HEARTBEAT_MS).
   * A path that wakes is checked at once, so one that died while idle is left within a few
   * seconds of the first packet.
   */
  noteTraffic(peer: string): void {
    if (!this.names.has(peer)) return;
    const now = Date.now();
    const wasIdle = !this.lastTraffic.has(peer);
    this.lastTraffic.set(peer, now);
    if (wasIdle) this.apply(this.discovery.setActive(peer, true, now));
    this.armIdleCheck(now);
  }

  /** The direct endpoint discovery chose for `peer`; undefined while it has none (relayed, or still looking). */
  directEndpoint(peer: string): string | undefined {
    const c = this.discovery.path(peer);
    return c.path === 'direct' ? c.endpoint : undefined;
  }

  candidates(): string[] {
    return this.discovery.candidates(Date.now());
  }

  /** What members asked of our probes and did not get (introductions unasked, probes refused), and birthday probing's counts. */
  probeCounters(): ProbeCounters & BirthdayCounters {
    return this.discovery.probeCounters;
  }

  natBehaviour(): string {
    return this.discovery.natBehaviour(Date.now());
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

  /** A member's name for the log; a key prefix only for one we no longer know. */
  private nameOf(id: string): string {
    return this.names.get(id) ?? id.slice(0, 8);
  }

  private apply(out: DiscoveryOutput): void {
    if (this.stopped || this.leaving) return;
    for (const s of out.send) {
      if (s.via !== undefined) this.hooks.sendVia(s.to, encodeDiscovery(s.message), s.via);
      else if (s.hole === undefined) this.hooks.send(s.to, encodeDiscovery(s.message), s.endpoint);
      else {
        const socket = this.holes.socketFor(s.to, s.hole);
        if (socket !== undefined) this.hooks.send(s.to, encodeDiscovery(s.message), s.endpoint, socket);
      }
    }
    for (const e of out.events) {
      if (e.type === 'pathChanged') {
        if (e.path === 'direct') this.hooks.routeTo(e.peer, e.endpoint);
        else if (e.path === 'relay') this.hooks.routeVia(e.peer, e.via);
        this.hooks.log(
          `path to ${this.nameOf(e.peer)}: ${e.path}${e.path === 'direct' ? ` ${e.endpoint}` : e.path === 'relay' ? ` via ${this.nameOf(e.via)}` : ''} (${e.reason})`,
        );
      } else if (e.type === 'candidatesChanged') {
        this.hooks.candidatesChanged(e.candidates);
      } else if (e.type === 'holesClosed') {
        this.holes.close(e.peer, e.keep);
      }
    }
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(20, out.nextWakeAt - Date.now());
    if (Number.isFinite(delay))
      this.timer = setTimeout(() => this.apply(this.discovery.tick(Date.now())), delay);
  }
}
