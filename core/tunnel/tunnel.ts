/**
 * A WireGuard interface: a TUN device, the native data path that moves its packets, and the
 * handshake state machines (core/wireguard) that give the data path its keys. The data path does
 * the per-packet work; the tunnel configures it and answers it, in three rooms:
 *
 *   tunnel.ts      peers, their paths and relay keys, sends on the node's behalf (this file)
 *   inbound.ts     what the data path hands up: handshakes, overlay messages, STUN, its events
 *   handshakes.ts  carrying out what the handshake side asks, its timers, traffic notes
 *
 * with peerTable.ts the peers all three share, and io.ts the one interface to the data path.
 */

import { performance } from 'node:perf_hooks';
import { type Endpoint, formatEndpoint, sameEndpoint } from '../base/endpoint.js';
import { type PeerId, peerId } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import { cookieKeyFor, mac1KeyFor } from '../wireguard/cookie.js';
import { Device } from '../wireguard/device.js';
import { emptyOutput } from '../wireguard/peer.js';
import { ControlCounts } from './controlCounts.js';
import { HandshakeDriver } from './handshakes.js';
import { Inbound } from './inbound.js';
import { type DataPathIo, nativeIo } from './io.js';
import { TUN_MTU } from './mtu.js';
import { PeerTable } from './peerTable.js';
import { TrafficWatch } from './trafficWatch.js';
import {
  DEFAULT_RELAY_RATE_MBIT,
  relayBytesPerSecond,
  type TunnelOptions,
  type TunnelPeerConfig,
  type TunnelPeerPath,
  type TunnelPeerStatus,
  type TunnelStats,
} from './types.js';

export class Tunnel {
  readonly publicKey: Uint8Array;
  private readonly datapath: DataPathIo;
  private readonly device: Device;
  private readonly peers = new PeerTable();
  private readonly handshakes: HandshakeDriver;
  private readonly inbound: Inbound;
  private readonly traffic: TrafficWatch;
  private closed = false;
  private readonly counts = new ControlCounts();

  constructor(options: TunnelOptions) {
    const t = options.timings ?? {};
    this.device = new Device({
      privateKey: options.privateKey,
      mtu: options.mtu,
      timings: options.timings,
      externalTransport: true,
      // The data path judges load and checks mac2 against its own cookie secret before a handshake
      // comes up (setHandshakeScreen below), so what reaches the handshake side has passed that
      // already: asking again here, with another secret, would refuse every cookie it handed out.
      underLoad: () => false,
    });
    this.publicKey = this.device.publicKey;
    // The data path may hand up events from the moment it opens: the dispatch exists before it.
    let inbound: Inbound | undefined;
    this.datapath = (options.openDataPath ?? nativeIo.openDataPath)(
      options.tun,
      {
        port: options.listenPort ?? 0,
        mtu: options.mtu ?? TUN_MTU,
        ...(options.addresses ? { addresses: options.addresses } : {}),
        ...options.tuning,
        ...(t.rekeyAfterTime ? { rekeyAfterTimeMs: t.rekeyAfterTime } : {}),
        ...(t.rejectAfterTime ? { rejectAfterTimeMs: t.rejectAfterTime } : {}),
        ...(t.keepaliveTimeout ? { keepaliveTimeoutMs: t.keepaliveTimeout } : {}),
        ...(t.rekeyTimeout ? { rekeyTimeoutMs: t.rekeyTimeout } : {}),
      },
      (events) => inbound?.onEvents(events),
    );
    this.handshakes = new HandshakeDriver(this.device, this.datapath, this.peers, {
      sentKeepalives: () => this.traffic.wake(),
      peerTraffic: (key) => options.onPeerTraffic?.(key),
    });
    this.traffic = new TrafficWatch(
      { read: () => this.handshakes.pollTraffic(), arm: () => this.datapath.watchTraffic() },
      options.trafficPollMs,
    );
    this.inbound = inbound = new Inbound({
      device: this.device,
      datapath: this.datapath,
      peers: this.peers,
      handshakes: this.handshakes,
      counts: this.counts,
      onOverlayMessage: options.onOverlayMessage,
      onStunMessage: options.onStunMessage,
      onTraffic: () => this.traffic.wake(),
    });
    if (options.sealedScreenKey) this.datapath.setSealedScreen(options.sealedScreenKey);
    // whitepaper §5.3: mac1, load and cookies are checked in the receive thread, so a handshake
    // flood costs this thread nothing (native/src/datapath/handshake_screen.h).
    this.datapath.setHandshakeScreen(
      mac1KeyFor(this.publicKey),
      cookieKeyFor(this.publicKey),
      options.handshakeScreen,
    );
    const relayRate = options.relayBytesPerSecond ?? relayBytesPerSecond(DEFAULT_RELAY_RATE_MBIT);
    if (relayRate > 0) this.datapath.setRelayService(true, relayRate);
    // Reads once and arms the data path's traffic event: from then on, counters are read only
    // while transport moves.
    this.traffic.wake();
  }

  /** The UDP port the data path listens on. */
  get port(): number {
    return this.datapath.port;
  }

  addPeer(config: TunnelPeerConfig): void {
    const key = peerId(config.publicKey);
    if (this.peers.has(key)) throw new OverlayError('EUSAGE', `peer ${key} is already configured`);
    const now = performance.now();
    const peer = this.device.addPeer(
      {
        publicKey: config.publicKey,
        presharedKey: config.presharedKey,
        endpoint: config.endpoint,
        persistentKeepaliveMs: config.persistentKeepaliveMs,
      },
      now,
    );
    const entry = this.peers.create(key, peer);
    this.datapath.setPeer(
      entry.id,
      config.allowedIps,
      config.endpoint ? formatEndpoint(config.endpoint) : null,
      { forward: config.forward ?? false, publicKey: config.publicKey },
    );
    this.peers.add(entry);
    this.handshakes.schedule();
  }

  /** This data path's relay epoch: fresh for every tunnel, announced in the endpoint record. */
  get relayEpoch(): Uint8Array {
    return this.datapath.relayEpoch;
  }

  /**
   * Installs the relay key this node shares with a peer, derived by the data path from the pair
   * secret, our relay epoch and the peer's `remoteEpoch`, and the pair's tags (see
   * core/node/relayKeys.ts). The data path keeps no copy of the secret; the caller erases its own.
   */
  setRelayKey(
    publicKey: Uint8Array,
    secret: Uint8Array,
    tags: { local: Uint8Array; remote: Uint8Array },
    remoteEpoch: Uint8Array,
  ): void {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return;
    this.datapath.setRelayKey(entry.id, secret, tags, remoteEpoch);
    entry.relayKeyEpoch = remoteEpoch.slice();
  }

  /**
   * The peer's data path started anew (it announced a new relay epoch): every session it had with
   * us died with it. Ours are dropped too, and if one was in use a handshake starts now, rather
   * than after the ~15 s WireGuard takes to notice that a peer no longer answers (whitepaper §6.2,
   * keepalive timeout + rekey timeout); a later packet would start one anyway.
   */
  peerRestarted(publicKey: Uint8Array): void {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return;
    const inUse = entry.peer.sendingSession !== undefined;
    const out = emptyOutput();
    entry.peer.zeroAll(out);
    this.handshakes.apply(out);
    if (!inUse) return;
    entry.handshakeWanted = true;
    this.handshakes.resendHandshake(entry);
  }

  /** The peer's epoch its relay key was installed with; undefined when it has none. */
  relayKeyEpoch(publicKey: Uint8Array): Uint8Array | undefined {
    return this.peers.find(peerId(publicKey))?.relayKeyEpoch;
  }

  /**
   * Where a peer's datagrams (transport and handshakes) go. False when the data path refused it
   * (the relay is not a peer here); the peer then keeps its previous path.
   */
  setPeerPath(publicKey: Uint8Array, path: TunnelPeerPath): boolean {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return false;
    if ('direct' in path) {
      // Confirming the path the handshake already took is no reason to send it again.
      const moved = entry.relayVia !== undefined || !sameEndpoint(entry.peer.endpoint, path.direct);
      entry.peer.endpoint = path.direct;
      this.datapath.setPeerPath(entry.id, { direct: formatEndpoint(path.direct) });
      entry.relayVia = undefined;
      if (moved) this.handshakes.resendHandshake(entry);
      return true;
    }
    const relayKey = peerId(path.relayVia);
    const relay = this.peers.find(relayKey);
    if (!relay || relay === entry) return false;
    try {
      this.datapath.setPeerPath(entry.id, { relay: relay.id });
    } catch {
      return false;
    }
    const moved = entry.relayVia !== relayKey;
    entry.relayVia = relayKey;
    // The handshake side only starts a handshake toward a known endpoint; a peer behind a NAT we
    // never reached may have none. Its datagrams go through the relay anyway, so the relay's
    // address stands in (the data path is not told: its relayed peers keep their own endpoint).
    if (!entry.peer.endpoint && relay.peer.endpoint) entry.peer.endpoint = relay.peer.endpoint;
    if (moved) this.handshakes.resendHandshake(entry);
    return true;
  }

  /** The relay a peer's datagrams go through, undefined when direct or unknown. */
  peerRelay(publicKey: Uint8Array): PeerId | undefined {
    return this.peers.find(peerId(publicKey))?.relayVia;
  }

  /**
   * Sends one of overlay's own messages along a peer's path (direct, or in an envelope through its
   * relay). False when the peer is unknown, has no usable path, or the socket refused it.
   */
  sendOverlayMessageToPeer(bytes: Uint8Array, publicKey: Uint8Array): boolean {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return false;
    try {
      return this.datapath.sendControlToPeer(bytes, entry.id);
    } catch {
      return false;
    }
  }

  /**
   * Sends one of overlay's own messages to a peer in a relay envelope through member `via`,
   * whatever the peer's own path: discovery's probe of that relay route. False when either is
   * unknown or has no relay key, the relay has no endpoint, or the socket refused it.
   */
  sendOverlayMessageVia(bytes: Uint8Array, publicKey: Uint8Array, via: Uint8Array): boolean {
    const entry = this.peers.find(peerId(publicKey));
    const relay = this.peers.find(peerId(via));
    if (!entry || !relay) return false;
    try {
      return this.datapath.sendControlVia(bytes, entry.id, relay.id);
    } catch {
      return false;
    }
  }

  /** Replaces a peer's routes (allowed IPs) and forwarding, keeping its sessions. */
  setPeerRoutes(publicKey: Uint8Array, allowedIps: string[], forward: boolean): void {
    const entry = this.peers.find(peerId(publicKey));
    if (entry) this.datapath.setPeer(entry.id, allowedIps, null, { forward });
  }

  /**
   * Sends one of overlay's own messages from the tunnel's port, or from extra socket `socket`
   * (openSocket). False if the send failed.
   */
  sendOverlayMessage(bytes: Uint8Array, to: Endpoint, socket?: number): boolean {
    return this.sendOverlayMessageAt(bytes, to, socket) !== undefined;
  }

  /**
   * sendOverlayMessage, saying when the data path sent it (ms, CLOCK_MONOTONIC, taken just before
   * the send): discovery times its pings from there (core/node/pathTiming.ts). Undefined if it failed.
   * With `ttl`, that datagram alone has that IP TTL (an opener, core/discovery/opening.ts).
   */
  sendOverlayMessageAt(bytes: Uint8Array, to: Endpoint, socket?: number, ttl?: number): number | undefined {
    try {
      return this.datapath.sendControl(bytes, formatEndpoint(to), socket, ttl);
    } catch {
      return undefined;
    }
  }

  /**
   * Extra UDP sockets beside the tunnel's port (birthday probing): one opened (its id), or
   * undefined when the data path has no more (or none at all: the in-memory twin).
   */
  openSocket(): number | undefined {
    return this.datapath.openSocket?.()?.socket;
  }

  /** openSocket, with the local port it was bound to (a filter test tells the member that port). */
  openSocketWithPort(): { socket: number; port: number } | undefined {
    return this.datapath.openSocket?.() ?? undefined;
  }

  closeSocket(socket: number): void {
    this.datapath.closeSocket?.(socket);
  }

  /** Whatever goes to `endpoint` (transport, handshakes) leaves from extra socket `socket` now. */
  bindSocket(endpoint: Endpoint, socket: number): void {
    this.datapath.bindSocket?.(formatEndpoint(endpoint), socket);
  }

  /** The extra sockets open and what each moved. */
  socketStats(): { socket: number; port: number; rxPackets: number; txPackets: number }[] {
    return this.datapath.socketStats?.() ?? [];
  }

  removePeer(publicKey: Uint8Array): void {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return;
    clearTimeout(entry.resendTimer);
    this.handshakes.apply(this.device.removePeer(publicKey));
    this.datapath.removePeer(entry.id);
    this.peers.remove(entry);
  }

  /** Starts a handshake with a peer now, rather than on its first packet. */
  connect(publicKey: Uint8Array): void {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return;
    const out = emptyOutput();
    entry.peer.initiate(performance.now(), out, false);
    this.handshakes.apply(out);
  }

  peerStatus(publicKey: Uint8Array): TunnelPeerStatus | undefined {
    const entry = this.peers.find(peerId(publicKey));
    if (!entry) return undefined;
    const stats = this.datapath.peerStats(entry.id);
    return {
      publicKey: entry.key,
      endpoint: stats?.endpoint ?? null,
      rxBytes: stats?.rxBytes ?? 0,
      txBytes: stats?.txBytes ?? 0,
      rxPackets: stats?.rxPackets ?? 0,
      txPackets: stats?.txPackets ?? 0,
      handshakes: entry.peer.handshakes,
      lastHandshakeAgeMs:
        entry.lastHandshakeAt === undefined ? null : performance.now() - entry.lastHandshakeAt,
      rttMs: entry.peer.handshakeRttMs ?? null,
    };
  }

  /** The data path's drop and traffic counters, what became of what it handed up, and sessions it refused. */
  stats(): TunnelStats {
    const extra = this.socketStats();
    return {
      ...this.datapath.stats(),
      ...this.counts.snapshot(),
      extraSockets: extra.length,
      extraSocketRxPackets: extra.reduce((n, s) => n + s.rxPackets, 0),
      extraSocketTxPackets: extra.reduce((n, s) => n + s.txPackets, 0),
      sessionInstallFailed: this.handshakes.failedInstalls,
      handshakesRefused: this.counts.droppedFor('unknownPeer'),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.traffic.close();
    this.inbound.close();
    this.handshakes.close();
    for (const entry of this.peers.values()) {
      clearTimeout(entry.resendTimer);
      this.device.removePeer(entry.peer.publicKey);
    }
    this.datapath.close();
  }
}
