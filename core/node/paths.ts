/**
 * The node's side of discovery (core/discovery): feeds it the members and the discovery messages
 * that arrive sealed, carries out its sends, and moves each member's WireGuard traffic to the
 * endpoint it chooses. Pure decisions stay in core/discovery; this is the glue with I/O.
 *
 * Relayed paths need the data path to carry WireGuard datagrams through a member; until it does,
 * a member with no direct path keeps its last endpoint and shows as not direct.
 */
import {
  Discovery,
  type DiscoveryOutput,
  type DiscoveryPeer,
  decodeDiscovery,
  encodeDiscovery,
  type PathSnapshot,
} from '../discovery/index.js';

export interface PathsHooks {
  /** Seals `body` (a discovery message) for member `to` (WireGuard key, base64) and sends it. */
  send(to: string, body: Uint8Array, endpoint: string): void;
  /** Traffic to `peer` should go to this direct endpoint now. */
  routeTo(peer: string, endpoint: string): void;
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
    this.discovery = new Discovery({ self, now: Date.now(), local, announced, relay: true });
  }

  setPeers(peers: readonly DiscoveryPeer[]): void {
    this.apply(this.discovery.setPeers(peers, Date.now()));
  }

  setLocal(local: readonly string[]): void {
    this.apply(this.discovery.setLocal(local, Date.now()));
  }

  /** A discovery message from authenticated member `from`, arrived from UDP `endpoint`. */
  receive(from: string, body: Uint8Array, endpoint: string): void {
    const decoded = decodeDiscovery(body);
    if (!decoded.ok) return;
    this.apply(this.discovery.receive(from, decoded.message, { endpoint }, Date.now()));
  }

  snapshot(peer: string): PathSnapshot | undefined {
    return this.discovery.snapshot(peer, Date.now());
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
      if (s.via !== undefined) continue; // through a relay: waits for the data path's relay support
      this.hooks.send(s.to, encodeDiscovery(s.message), s.endpoint);
    }
    for (const e of out.events) {
      if (e.type === 'pathChanged') {
        if (e.path === 'direct') this.hooks.routeTo(e.peer, e.endpoint);
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
