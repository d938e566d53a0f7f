/**
 * The tunnel's peers kept in line with the roster: every member but this node, and the devices
 * hosted here. When the roster moves, the peers follow, and so does what hangs off them — relay
 * keys and routes, what sealed messaging knew of members who left, the members discovery drives.
 * It holds the one record of the peers (`current`), which the node's other modules read.
 */

import type { PeerId } from '../base/keys.js';
import type { Member, Roster } from '../membership/roster.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { NodePaths } from './paths.js';
import { type DesiredPeer, desiredPeers, syncPeers } from './peerSync.js';
import type { RelayRoutes } from './relayRoutes.js';
import type { SealedMessaging } from './sealedMessaging.js';

export interface TunnelPeersHooks {
  tunnel: Tunnel;
  roster: Roster;
  /** Announce again if our endpoint record does not carry this run's relay epoch. */
  announceIfStale: (self: Member) => void;
  routes: () => Pick<RelayRoutes, 'forgetGone' | 'installKeys'>;
  messaging: () => Pick<SealedMessaging, 'forgetLeft' | 'reachable'>;
  paths: () => Pick<NodePaths, 'setPeers'>;
  log: (line: string) => void;
}

export class TunnelPeers {
  /** The tunnel's peers, as syncPeers last left them. */
  readonly current = new Map<PeerId, DesiredPeer>();

  constructor(private readonly hooks: TunnelPeersHooks) {}

  /** This node is no longer a member (expired, revoked): no peers at all. */
  dropAll(): void {
    if (this.current.size > 0) this.hooks.log('this node was removed from the network: dropping all peers');
    syncPeers(this.hooks.tunnel, new Map(), this.current);
  }

  /** The roster as `self` sees it at `now`: bring the tunnel's peers, and what follows them, in line. */
  sync(self: Member, now: number): void {
    const before = [...this.current.keys()];
    this.hooks.announceIfStale(self);
    const changes = syncPeers(this.hooks.tunnel, desiredPeers(this.hooks.roster, self, now), this.current);
    const routes = this.hooks.routes();
    routes.forgetGone();
    // What we knew of members who left goes with them.
    const isPeer = (key: string) => (this.current as ReadonlyMap<string, DesiredPeer>).has(key);
    this.hooks.messaging().forgetLeft(
      isPeer,
      before.filter((key) => !isPeer(key)),
    );
    routes.installKeys();
    this.hooks.paths().setPeers(this.current);
    for (const name of changes.added) this.hooks.log(`peer added: ${name}`);
    for (const name of changes.removed) this.hooks.log(`peer removed: ${name}`);
  }

  /** The members a gossip round may talk to: full members we have somewhere to send to. */
  gossipTargets(): PeerId[] {
    const messaging = this.hooks.messaging();
    return [...this.current]
      .filter(([, p]) => p.member.certificate.kind === 'member' && messaging.reachable(p.publicKey))
      .map(([id]) => id);
  }
}
