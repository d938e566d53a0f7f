/**
 * The node's side of discovery (core/discovery): feeds it the members and the discovery messages
 * that arrive sealed, carries out its sends, and moves each member's WireGuard traffic to the
 * endpoint it chooses. Pure decisions stay in core/discovery; this is the glue with I/O.
 *
 * A relayed path carries everything in the data path's envelopes through the relay member: the
 * WireGuard traffic (routeVia) and discovery's probes of the route (sendVia, which goes through the
 * relay named whatever the member's own path is, so a relay route is probed while the traffic
 * still goes direct). A route's liveness is thus measured over the envelopes that carry its data.
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
  /** Seals `body` for member `to`, and sends it in a relay envelope through member `via`. */
  sendVia(to: string, body: Uint8Array, via: string): void;
  /** Traffic to `peer` should go to this direct endpoint now. */
  routeTo(peer: string, endpoint: string): void;
  /** Traffic to `peer` should go through relay member `via` now. */
  routeVia(peer: string, via: string): void;
  /** Our own candidates changed (a new reflexive address): announce them. */
  candidatesChanged(candidates: readonly string[]): void;
  log(line: string): void;
}

export class NodePaths {
  private readonly discovery: Discovery;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    self: string,
    local: readonly string[],
    announced: readonly string[],
    private readonly hooks: PathsHooks,
  ) {
    this.discovery = new Discovery({ self, now: Date.now(), local, announced });
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

  private apply(out: DiscoveryOutput): void {
    if (this.stopped) return;
    for (const s of out.send) {
      if (s.via !== undefined) this.hooks.sendVia(s.to, encodeDiscovery(s.message), s.via);
      else this.hooks.send(s.to, encodeDiscovery(s.message), s.endpoint);
    }
    for (const e of out.events) {
      if (e.type === 'pathChanged') {
        if (e.path === 'direct') this.hooks.routeTo(e.peer, e.endpoint);
        else if (e.path === 'relay') this.hooks.routeVia(e.peer, e.via);
        this.hooks.log(
          `path to ${e.peer.slice(0, 8)}: ${e.path}${e.path === 'direct' ? ` ${e.endpoint}` : e.path === 'relay' ? ` via ${e.via.slice(0, 8)}` : ''} (${e.reason})`,
        );
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
