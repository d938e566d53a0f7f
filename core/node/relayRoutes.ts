/**
 * Where each member's traffic goes, as discovery decides (routeTo, routeVia), and the relay state
 * that follows: a relay key per member for the data path's envelopes, and the smaller-MTU routes
 * of members reached through a relay. Keys and routes follow the roster (installKeys, forgetGone).
 */

import { bytesEqual } from '../base/bytes.js';
import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { TunDevice } from '../tunnel/io.js';
import { RELAYED_MTU } from '../tunnel/mtu.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { DesiredPeer } from './peerSync.js';
import { relayPairSecret, relayTag } from './relayKeys.js';

export interface RelayRoutesOptions {
  readonly tun: Pick<TunDevice, 'setRouteMtu'>;
  readonly tunnel: Pick<Tunnel, 'relayKeyEpoch' | 'setRelayKey' | 'peerRestarted' | 'setPeerPath'>;
  readonly wireguard: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array };
  /** The tunnel's peers by WireGuard key (base64), as the node last synced them. */
  readonly peers: ReadonlyMap<string, DesiredPeer>;
  log(line: string): void;
}

export class RelayRoutes {
  /** Members (WireGuard key) whose overlay addresses have a RELAYED_MTU route, and those prefixes. */
  private readonly relayedRoutes = new Map<string, string[]>();

  constructor(private readonly options: RelayRoutesOptions) {}

  /** Traffic to `peer` goes to this direct endpoint now, at the interface's MTU. */
  routeTo(peer: PeerId, endpoint: Endpoint): void {
    const known = this.options.peers.get(peer);
    if (known && this.options.tunnel.setPeerPath(known.publicKey, { direct: endpoint }))
      this.setRelayed(peer, false);
  }

  /** Traffic to `peer` goes through relay member `via` now, at the relayed MTU. */
  routeVia(peer: PeerId, via: PeerId): void {
    const known = this.options.peers.get(peer);
    const relay = this.options.peers.get(via);
    if (!known || !relay) return;
    if (!this.options.tunnel.setPeerPath(known.publicKey, { relayVia: relay.publicKey }))
      this.options.log(
        `could not route ${known.member.certificate.name} through ${relay.member.certificate.name}`,
      );
    else this.setRelayed(peer, true);
  }

  /**
   * Every member peer that announces a relay epoch gets a relay key for it, so any of them can
   * relay for us, be relayed to, or use us as its relay. A member's new epoch (it started again)
   * replaces the key, and with it the replay window; which epoch is new is the endpoint record's
   * version to say, never an envelope's (issue 10). Its WireGuard sessions died with its old data
   * path, so ours are dropped and a new handshake starts. A member whose record has no epoch (an
   * older version) gets no key. A removed peer's key goes with it (the data path wipes it on
   * removePeer).
   */
  installKeys(): void {
    const { tunnel, wireguard: wg } = this.options;
    const local = relayTag(wg.publicKey);
    for (const p of this.options.peers.values()) {
      const epoch = p.member.relayEpoch;
      if (p.member.certificate.kind !== 'member' || !epoch) continue;
      const installed = tunnel.relayKeyEpoch(p.publicKey);
      if (installed && bytesEqual(installed, epoch)) continue;
      const secret = relayPairSecret(wg.privateKey, p.publicKey);
      if (!secret) continue;
      try {
        tunnel.setRelayKey(p.publicKey, secret, { local, remote: relayTag(p.publicKey) }, epoch);
        if (installed) tunnel.peerRestarted(p.publicKey);
      } catch (e) {
        this.options.log(
          `no relay key for ${p.member.certificate.name}: ${e instanceof Error ? e.message : e}`,
        );
      } finally {
        secret.fill(0);
      }
    }
  }

  /**
   * A relayed member's addresses get a route with the smaller MTU, so the kernel sizes packets
   * (and TCP segments) for the envelope; a direct path takes the interface's MTU back.
   */
  private setRelayed(peer: string, relayed: boolean): void {
    const known = this.options.peers.get(peer);
    if (relayed && known && !this.relayedRoutes.has(peer)) {
      const prefixes = [`${known.member.certificate.ipv4}/32`, `${known.member.certificate.ipv6}/128`];
      try {
        for (const prefix of prefixes) this.options.tun.setRouteMtu(prefix, RELAYED_MTU);
        this.relayedRoutes.set(peer, prefixes);
      } catch (e) {
        this.options.log(
          `could not lower the MTU to ${known.member.certificate.name}: ${e instanceof Error ? e.message : e}`,
        );
      }
    } else if (!relayed) {
      this.drop(peer);
    }
  }

  /** Members no longer peers: their smaller-MTU routes go. */
  forgetGone(): void {
    for (const peer of this.relayedRoutes.keys()) if (!this.options.peers.has(peer)) this.drop(peer);
  }

  private drop(peer: string): void {
    const prefixes = this.relayedRoutes.get(peer);
    if (!prefixes) return;
    this.relayedRoutes.delete(peer);
    for (const prefix of prefixes) {
      try {
        this.options.tun.setRouteMtu(prefix, null);
      } catch (e) {
        this.options.log(`could not remove the route to ${prefix}: ${e instanceof Error ? e.message : e}`);
      }
    }
  }
}
