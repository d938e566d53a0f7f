/**
 * The node's side of discovery (core/discovery): feeds it the members and the discovery messages
 * that arrive sealed, carries out its sends, and moves each member's WireGuard traffic to the
 * endpoint it chooses. Pure decisions stay in core/discovery; this is the glue with I/O.
 *
 * A relayed path has two halves: WireGuard traffic goes through the relay member in the data
 * path's envelopes (routeVia), while discovery's own probes of relay routes travel as discovery
 * `relay` messages that the relay's discovery forwards (sendVia) — those must be able to probe a
 * relay route while the traffic still goes direct, which the data path's per-peer path cannot.
 */
import {
  Discovery,
  type DiscoveryMessage,
  type DiscoveryOutput,
  type DiscoveryPeer,
  encodeDiscovery,
  type PathSnapshot,
  type Source,
} from '../discovery/index.js';

export interface PathsHooks {
  /** Seals `body` (a discovery message) for member `to` (WireGuard key, base64) and sends it. */
  send(to: string, body: Uint8Array, endpoint: string): void;
  /**
   * Seals `body` for member `to`, and sends that datagram inside a discovery `relay` message
   * sealed for member `via`, to the relay's `endpoint`.
   */
  sendVia(to: string, body: Uint8Array, via: string, endpoint: string): void;
  /** A datagram member `from` sent us through relay `via`: open it and hand it back with receive(). */
  delivered(from: string, via: string, datagram: Uint8Array): void;
  /** Traffic to `peer` should go to this direct endpoint now. */
  routeTo(peer: string, endpoint: string): void;
  /** Traffic to `peer` should go through relay member `via` now. */
  routeVia(peer: string, via: string): void;
  /** Our own candidates changed (a new reflexive address): announce them. */
  candidatesChanged(candidates: readonly string[]): void;
  log(line: string): void;
}

/** A refused relay (same sender, target and reason) is logged once in this long: probes repeat. */
const REFUSAL_LOG_GAP_MS = 60_000;
const MAX_REFUSALS_REMEMBERED = 256;

export class NodePaths {
  private readonly discovery: Discovery;
  private readonly refusalsLogged = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    self: string,
    local: readonly string[],
    announced: readonly string[],
    relay: boolean,
    private readonly hooks: PathsHooks,
  ) {
    this.discovery = new Discovery({ self, now: Date.now(), local, announced, relay });
  }

  setPeers(peers: readonly DiscoveryPeer[]): void {
    this.apply(this.discovery.setPeers(peers, Date.now()));
  }

  setLocal(local: readonly string[]): void {
    this.apply(this.discovery.setLocal(local, Date.now()));
  }

  /** A STUN server (--stun) at `server` sees us at `observed`. */
  noteReflexive(server: string, observed: string): void {
    this.apply(this.discovery.noteReflexive(server, observed, Date.now()));
  }

  /** A discovery message from authenticated member `from`, arrived from a UDP endpoint or through a relay. */
  receive(from: string, message: DiscoveryMessage, source: Source): void {
    this.apply(this.discovery.receive(from, message, source, Date.now()));
  }

  snapshot(peer: string): PathSnapshot | undefined {
    return this.discovery.snapshot(peer, Date.now());
  }

  /** Whether traffic flows to `peer`: its path is checked every second while it does, else every 5 s. */
  setActive(peer: string, active: boolean): void {
    this.discovery.setActive(peer, active);
  }

  /** The direct endpoint discovery chose for `peer`; undefined while it has none (relayed, or still looking). */
  directEndpoint(peer: string): string | undefined {
    const c = this.discovery.path(peer);
    return c.path === 'direct' ? c.endpoint : undefined;
  }

  candidates(): string[] {
    return this.discovery.candidates(Date.now());
  }

  natBehaviour(): string {
    return this.discovery.natBehaviour(Date.now());
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private firstRefusalInAWhile(key: string): boolean {
    const now = Date.now();
    const last = this.refusalsLogged.get(key);
    if (last !== undefined && now - last < REFUSAL_LOG_GAP_MS) return false;
    if (this.refusalsLogged.size >= MAX_REFUSALS_REMEMBERED) this.refusalsLogged.clear();
    this.refusalsLogged.set(key, now);
    return true;
  }

  private apply(out: DiscoveryOutput): void {
    if (this.stopped) return;
    for (const s of out.send) {
      if (s.via !== undefined) this.hooks.sendVia(s.to, encodeDiscovery(s.message), s.via, s.endpoint);
      else this.hooks.send(s.to, encodeDiscovery(s.message), s.endpoint);
    }
    for (const d of out.delivered) this.hooks.delivered(d.from, d.via, d.datagram);
    for (const e of out.events) {
      if (e.type === 'pathChanged') {
        if (e.path === 'direct') this.hooks.routeTo(e.peer, e.endpoint);
        else if (e.path === 'relay') this.hooks.routeVia(e.peer, e.via);
        this.hooks.log(
          `path to ${e.peer.slice(0, 8)}: ${e.path}${e.path === 'direct' ? ` ${e.endpoint}` : e.path === 'relay' ? ` via ${e.via.slice(0, 8)}` : ''} (${e.reason})`,
        );
      } else if (e.type === 'relayRefused') {
        if (this.firstRefusalInAWhile(`${e.from} ${e.to} ${e.reason}`))
          this.hooks.log(`relay refused: ${e.from.slice(0, 8)} -> ${e.to.slice(0, 8)} (${e.reason})`);
      } else if (e.type === 'candidatesChanged') {
        this.hooks.candidatesChanged(e.candidates);
      }
    }
    if (this.timer) clearTimeout(this.timer);
    const delay = Math.max(20, out.nextWakeAt - Date.now());
    if (Number.isFinite(delay))
      this.timer = setTimeout(() => this.apply(this.discovery.tick(Date.now())), delay);
  }
}
