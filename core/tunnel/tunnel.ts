/**
 * A WireGuard interface: a TUN device, the native data path that moves its packets, and the
 * handshake state machines (core/wireguard) that give the data path its keys. The data path does
 * the per-packet work; this class only answers its events (handshake messages, "a handshake is
 * needed", "a session is confirmed") and runs the timers.
 *
 * Timers need to know when data flowed, but packets never come up to JavaScript: the data path's
 * per-peer counters are read a few times a second and turned into traffic notes, which is the
 * precision the whitepaper's timers need (seconds).
 */

import { performance } from 'node:perf_hooks';
import type {
  DataPathEvent,
  DataPathOptions,
  DataPathPeerStats,
  DataPathStats,
  HandshakeScreenOptions,
} from 'tun-napi';
import { OverlayError } from '../errors.js';
import { isStunMessage } from '../stun/message.js';
import type { Timings } from '../wireguard/constants.js';
import { cookieKeyFor, mac1KeyFor } from '../wireguard/cookie.js';
import { Device } from '../wireguard/device.js';
import { type Endpoint, sameEndpoint } from '../wireguard/endpoint.js';
import { emptyOutput, type Output, type Peer, type SessionChange } from '../wireguard/peer.js';
import { keyToBase64, TIMESTAMP_GRANULARITY_MS } from '../wireguard/primitives.js';
import { ControlCounts, type ControlCountsSnapshot } from './controlCounts.js';
import { formatEndpoint, parseEndpoint } from './endpointText.js';
import { type DataPathIo, nativeIo, type OpenDataPath, type TunDevice } from './io.js';
import { TUN_MTU } from './mtu.js';

export interface TunnelOptions {
  /** An open TUN device; the tunnel's data path keeps its own handle on it. */
  tun: TunDevice;
  /** Opens the data path on `tun`: the native one unless a test gives its twin (io.ts). */
  openDataPath?: OpenDataPath;
  privateKey: Uint8Array;
  listenPort?: number;
  /** The TUN device's MTU: the largest inner packet (default TUN_MTU). */
  mtu?: number;
  /** Tests only: shortened whitepaper timings, applied to both the handshake and the data path. */
  timings?: Partial<Timings>;
  /** How often the data path's counters are read for the timers. */
  trafficPollMs?: number;
  /**
   * overlay's own messages (type byte >= 0x80: discovery, gossip, joins) that arrive on the
   * WireGuard port; WireGuard's handshake messages are handled here. `via` is the relay member's
   * public key when the datagram came in a relay envelope (`from` is then the relay's address).
   */
  onOverlayMessage?: (data: Uint8Array, from: Endpoint, via?: Uint8Array) => void;
  /** STUN messages on the WireGuard port (answers to --stun queries); never ones from a relay. */
  onStunMessage?: (data: Uint8Array, from: Endpoint) => void;
  /**
   * The mac1 key of sealed messages to this node (core/overlayWire/sealed.ts mac1Key): with it the
   * data path drops sealed datagrams from anyone who does not know our key before they reach
   * JavaScript, and budgets the rest per sender.
   */
  sealedScreenKey?: Uint8Array;
  /**
   * Envelopes per second this node forwards for each sending member as a relay (issue 5: any
   * member may relay); 0 turns the relay service off (--no-relay).
   */
  relayRatePerSecond?: number;
  /** Tests only: other limits for the data path's handshake screen (when it is under load, ...). */
  handshakeScreen?: HandshakeScreenOptions;
  /** The data path's packet-moving knobs (native/index.d.ts); absent, the native defaults. */
  tuning?: DataPathTuning;
}

/** The DataPathOptions that tune how packets move, not what the tunnel is. */
export type DataPathTuning = Pick<DataPathOptions, 'tunQueueLength' | 'offload'>;

/** Enough for a relayed pair's full-rate traffic, yet a bound on what one member can make us send. */
export const DEFAULT_RELAY_RATE_PER_SECOND = 20_000;

/** Where a peer's datagrams go: straight to an endpoint, or in envelopes through relay member `relayVia`. */
export type TunnelPeerPath = { direct: Endpoint } | { relayVia: Uint8Array };

/** overlay's own message types start here; WireGuard uses 1..4 (DESIGN.md "Wire protocol"). */
const FIRST_OVERLAY_TYPE = 0x80;

export interface TunnelPeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  /** Inner addresses this peer may send from and is routed to, as CIDR text. */
  allowedIps: string[];
  persistentKeepaliveMs?: number;
  /**
   * This node forwards packets between this peer and its other peers (a plain WireGuard device
   * it hosts for the mesh); the data path does it without the host's IP forwarding.
   */
  forward?: boolean;
}

export interface TunnelPeerStatus {
  publicKey: string;
  endpoint: string | null;
  rxBytes: number;
  txBytes: number;
  /** Authenticated transport messages received from / sent to this peer, keepalives included. */
  rxPackets: number;
  txPackets: number;
  handshakes: number;
  /** ms since the last completed handshake, null if none */
  lastHandshakeAgeMs: number | null;
  /** round trip of the last handshake this node initiated, null if none */
  rttMs: number | null;
}

/** Every counter of the data path, and what became of each datagram it handed up (controlCounts.ts). */
export type TunnelStats = DataPathStats &
  ControlCountsSnapshot & {
    /** Sessions the data path refused to install; should stay 0. */
    sessionInstallFailed: number;
    /** Handshakes from a key that is not a peer (never was, or revoked): controlDropped.unknownPeer. */
    handshakesRefused: number;
  };

interface PeerEntry {
  id: number;
  peer: Peer;
  lastRxPackets: number;
  lastTxPackets: number;
  lastHandshakeAt: number | undefined;
  /** The relay member (base64 key) this peer's datagrams go through; undefined when direct. */
  relayVia: string | undefined;
  /**
   * The data path asked for a handshake that could not start (no endpoint yet): packets wait in
   * its staging queue until a path appears, and the path change should start it at once.
   */
  handshakeWanted: boolean;
  /** The peer's relay epoch the data path's relay key for it was derived with; undefined: no key. */
  relayKeyEpoch: Uint8Array | undefined;
  /** A resend that had to wait out the timestamp granularity. */
  resendTimer?: NodeJS.Timeout;
}

export class Tunnel {
  readonly publicKey: Uint8Array;
  private readonly datapath: DataPathIo;
  private readonly device: Device;
  private readonly byId = new Map<number, PeerEntry>();
  private readonly byKey = new Map<string, PeerEntry>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private readonly poll: NodeJS.Timeout;
  private closed = false;
  /** Sessions the data path refused to install; should stay 0. */
  private failedInstalls = 0;
  private readonly counts = new ControlCounts();
  private readonly onOverlayMessage: TunnelOptions['onOverlayMessage'];
  private readonly onStunMessage: TunnelOptions['onStunMessage'];

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
    this.onOverlayMessage = options.onOverlayMessage;
    this.onStunMessage = options.onStunMessage;
    this.datapath = (options.openDataPath ?? nativeIo.openDataPath)(
      options.tun,
      {
        port: options.listenPort ?? 0,
        mtu: options.mtu ?? TUN_MTU,
        ...options.tuning,
        ...(t.rekeyAfterTime ? { rekeyAfterTimeMs: t.rekeyAfterTime } : {}),
        ...(t.rejectAfterTime ? { rejectAfterTimeMs: t.rejectAfterTime } : {}),
        ...(t.keepaliveTimeout ? { keepaliveTimeoutMs: t.keepaliveTimeout } : {}),
        ...(t.rekeyTimeout ? { rekeyTimeoutMs: t.rekeyTimeout } : {}),
      },
      (events) => this.onEvents(events),
    );
    if (options.sealedScreenKey) this.datapath.setSealedScreen(options.sealedScreenKey);
    // whitepaper §5.3: mac1, load and cookies are checked in the receive thread, so a handshake
    // flood costs this thread nothing (native/src/datapath/handshake_screen.h).
    this.datapath.setHandshakeScreen(
      mac1KeyFor(this.publicKey),
      cookieKeyFor(this.publicKey),
      options.handshakeScreen,
    );
    const relayRate = options.relayRatePerSecond ?? DEFAULT_RELAY_RATE_PER_SECOND;
    if (relayRate > 0) this.datapath.setRelayService(true, relayRate);
    this.poll = setInterval(() => this.pollTraffic(), options.trafficPollMs ?? 250);
  }

  /** The UDP port the data path listens on. */
  get port(): number {
    return this.datapath.port;
  }

  addPeer(config: TunnelPeerConfig): void {
    const key = keyToBase64(config.publicKey);
    if (this.byKey.has(key)) throw new OverlayError('EUSAGE', `peer ${key} is already configured`);
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
    const entry: PeerEntry = {
      id: this.nextId++,
      peer,
      lastRxPackets: 0,
      lastTxPackets: 0,
      lastHandshakeAt: undefined,
      relayVia: undefined,
      handshakeWanted: false,
      relayKeyEpoch: undefined,
    };
    this.datapath.setPeer(
      entry.id,
      config.allowedIps,
      config.endpoint ? formatEndpoint(config.endpoint) : null,
      { forward: config.forward ?? false, publicKey: config.publicKey },
    );
    this.byId.set(entry.id, entry);
    this.byKey.set(key, entry);
    this.schedule();
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
    const entry = this.byKey.get(keyToBase64(publicKey));
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
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (!entry) return;
    const inUse = entry.peer.sendingSession !== undefined;
    const out = emptyOutput();
    entry.peer.zeroAll(out);
    this.apply(out);
    if (!inUse) return;
    entry.handshakeWanted = true;
    this.resendHandshake(entry);
  }

  /** The peer's epoch its relay key was installed with; undefined when it has none. */
  relayKeyEpoch(publicKey: Uint8Array): Uint8Array | undefined {
    return this.byKey.get(keyToBase64(publicKey))?.relayKeyEpoch;
  }

  /**
   * Where a peer's datagrams (transport and handshakes) go. False when the data path refused it
   * (the relay is not a peer here); the peer then keeps its previous path.
   */
  setPeerPath(publicKey: Uint8Array, path: TunnelPeerPath): boolean {
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (!entry) return false;
    if ('direct' in path) {
      // Confirming the path the handshake already took is no reason to send it again.
      const moved = entry.relayVia !== undefined || !sameEndpoint(entry.peer.endpoint, path.direct);
      entry.peer.endpoint = path.direct;
      this.datapath.setPeerPath(entry.id, { direct: formatEndpoint(path.direct) });
      entry.relayVia = undefined;
      if (moved) this.resendHandshake(entry);
      return true;
    }
    const relayKey = keyToBase64(path.relayVia);
    const relay = this.byKey.get(relayKey);
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
    if (moved) this.resendHandshake(entry);
    return true;
  }

  /**
   * A handshake in flight went out on the old path and is likely lost: send it again now on the
   * new one rather than wait for the retry timer (whitepaper §6.4's 5 s).
   */
  private resendHandshake(entry: PeerEntry): void {
    if (!entry.peer.handshakeInFlight && !entry.handshakeWanted) return;
    const now = performance.now();
    const age = now - (entry.peer.lastInitiationSentAt ?? Number.NEGATIVE_INFINITY);
    if (age < TIMESTAMP_GRANULARITY_MS) {
      // Sent again at once, it could carry the same timestamp and be refused as a replay.
      clearTimeout(entry.resendTimer);
      // removePeer and close clear this timer, so it never fires for a peer that is gone.
      entry.resendTimer = setTimeout(() => this.resendHandshake(entry), TIMESTAMP_GRANULARITY_MS - age + 1);
      return;
    }
    const out = emptyOutput();
    entry.peer.initiate(now, out, true);
    if (entry.peer.handshakeInFlight) entry.handshakeWanted = false;
    this.apply(out);
  }

  /** The relay (base64 key) a peer's datagrams go through, undefined when direct or unknown. */
  peerRelay(publicKey: Uint8Array): string | undefined {
    return this.byKey.get(keyToBase64(publicKey))?.relayVia;
  }

  /**
   * Sends one of overlay's own messages along a peer's path (direct, or in an envelope through its
   * relay). False when the peer is unknown, has no usable path, or the socket refused it.
   */
  sendOverlayMessageToPeer(bytes: Uint8Array, publicKey: Uint8Array): boolean {
    const entry = this.byKey.get(keyToBase64(publicKey));
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
    const entry = this.byKey.get(keyToBase64(publicKey));
    const relay = this.byKey.get(keyToBase64(via));
    if (!entry || !relay) return false;
    try {
      return this.datapath.sendControlVia(bytes, entry.id, relay.id);
    } catch {
      return false;
    }
  }

  /** Replaces a peer's routes (allowed IPs) and forwarding, keeping its sessions. */
  setPeerRoutes(publicKey: Uint8Array, allowedIps: string[], forward: boolean): void {
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (entry) this.datapath.setPeer(entry.id, allowedIps, null, { forward });
  }

  /** Sends one of overlay's own messages from the tunnel's port. False if the send failed. */
  sendOverlayMessage(bytes: Uint8Array, to: Endpoint): boolean {
    try {
      this.datapath.sendControl(bytes, formatEndpoint(to));
      return true;
    } catch {
      return false;
    }
  }

  removePeer(publicKey: Uint8Array): void {
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (!entry) return;
    clearTimeout(entry.resendTimer);
    this.apply(this.device.removePeer(publicKey));
    this.datapath.removePeer(entry.id);
    this.byId.delete(entry.id);
    this.byKey.delete(keyToBase64(publicKey));
  }

  /** Starts a handshake with a peer now, rather than on its first packet. */
  connect(publicKey: Uint8Array): void {
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (!entry) return;
    const out = emptyOutput();
    entry.peer.initiate(performance.now(), out, false);
    this.apply(out);
  }

  peerStatus(publicKey: Uint8Array): TunnelPeerStatus | undefined {
    const entry = this.byKey.get(keyToBase64(publicKey));
    if (!entry) return undefined;
    const stats = this.datapath.peerStats(entry.id);
    return {
      publicKey: keyToBase64(publicKey),
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
    return {
      ...this.datapath.stats(),
      ...this.counts.snapshot(),
      sessionInstallFailed: this.failedInstalls,
      handshakesRefused: this.counts.droppedFor('unknownPeer'),
    };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.poll);
    if (this.timer) clearTimeout(this.timer);
    for (const entry of this.byId.values()) {
      clearTimeout(entry.resendTimer);
      this.device.removePeer(entry.peer.publicKey);
    }
    this.datapath.close();
  }

  private onEvents(events: DataPathEvent[]): void {
    if (this.closed) return;
    const now = performance.now();
    const out = emptyOutput();
    for (const e of events) {
      switch (e.type) {
        case 'control':
          this.onControl(e, now, out);
          break;
        case 'handshake-needed': {
          const entry = this.byId.get(e.peer);
          if (!entry) break;
          entry.peer.initiate(now, out, false);
          if (!entry.peer.handshakeInFlight) entry.handshakeWanted = true;
          break;
        }
        case 'session-confirmed': {
          const entry = this.byId.get(e.peer);
          entry?.peer.noteTraffic({ direction: 'received', localIndex: e.localIndex, empty: true }, now, out);
          break;
        }
        case 'endpoint-changed': {
          const entry = this.byId.get(e.peer);
          const ep = parseEndpoint(e.endpoint);
          if (entry && ep) entry.peer.endpoint = ep;
          break;
        }
      }
    }
    this.apply(out);
  }

  /** One datagram the data path handed up; whatever becomes of it is counted once (controlCounts.ts). */
  private onControl(e: Extract<DataPathEvent, { type: 'control' }>, now: number, out: Output): void {
    const relayed = e.via !== undefined ? this.byId.get(e.via) : undefined;
    const from = parseEndpoint(e.from);
    if (e.via !== undefined && !relayed) this.counts.drop('unknownRelay');
    else if (!from) this.counts.drop('badSource');
    else if ((e.data[0] ?? 0) >= FIRST_OVERLAY_TYPE) {
      if (!this.onOverlayMessage) this.counts.drop('noHandler');
      else {
        this.counts.overlayUp();
        this.onOverlayMessage(e.data, from, relayed?.peer.publicKey);
      }
    } else if (isStunMessage(e.data)) {
      // A STUN answer starts with 0x01 like an initiation; its magic cookie tells them apart.
      if (relayed) this.counts.drop('relayedStun');
      else if (!this.onStunMessage) this.counts.drop('noHandler');
      else {
        this.counts.stunUp();
        this.onStunMessage(e.data, from);
      }
    } else {
      // A relayed handshake's UDP source is the relay: the sender's own endpoint must not move
      // there, or its traffic would go to the relay unwrapped once the path turns direct.
      const sender = e.peer !== undefined ? this.byId.get(e.peer) : undefined;
      const source = relayed ? (sender?.peer.endpoint ?? from) : from;
      const result = this.device.receive(e.data, source, now);
      if (relayed && sender && sender.relayVia === undefined)
        this.answerThroughRelay(result, sender, relayed);
      // One datagram, one outcome: the handshake side names at most one reason to drop it.
      const reason = result.dropped[0];
      if (reason) this.counts.drop(reason);
      else this.counts.handshakeAccepted();
      merge(out, result);
    }
  }

  /**
   * The peer reached us through a relay before our own discovery chose that relay for it (the two
   * ends decide a moment apart): a handshake response sent to its direct endpoint would be lost and
   * cost a whole REKEY_TIMEOUT, so it goes back the way the initiation came.
   */
  private answerThroughRelay(result: Output, sender: PeerEntry, relay: PeerEntry): void {
    const key = keyToBase64(sender.peer.publicKey);
    const mine = result.transmit.filter((t) => t.peer && keyToBase64(t.peer) === key);
    if (mine.length === 0) return;
    result.transmit.splice(0, result.transmit.length, ...result.transmit.filter((t) => !mine.includes(t)));
    const previous = this.datapath.peerStats(sender.id)?.endpoint ?? null;
    try {
      this.datapath.setPeerPath(sender.id, { relay: relay.id });
      for (const t of mine) this.datapath.sendControlToPeer(t.bytes, sender.id);
      // With no direct endpoint at all the relay is the only way, so the peer stays on it.
      if (previous) this.datapath.setPeerPath(sender.id, { direct: previous });
      else sender.relayVia = keyToBase64(relay.peer.publicKey);
    } catch {
      // A lost response: the initiator's retry timer sends another.
    }
  }

  private pollTraffic(): void {
    const now = performance.now();
    const out = emptyOutput();
    for (const entry of this.byId.values()) {
      const s: DataPathPeerStats | null = this.datapath.peerStats(entry.id);
      if (!s) continue;
      const current = s.currentIndex ?? 0;
      if (s.txPackets !== entry.lastTxPackets) {
        entry.lastTxPackets = s.txPackets;
        const data = s.lastTxDataAgeMs !== null && s.lastTxDataAgeMs <= (s.lastTxAgeMs ?? 0);
        entry.peer.noteTraffic({ direction: 'sent', localIndex: current, empty: !data }, now, out);
      }
      if (s.rxPackets !== entry.lastRxPackets) {
        entry.lastRxPackets = s.rxPackets;
        const data = s.lastRxDataAgeMs !== null && s.lastRxDataAgeMs <= (s.lastRxAgeMs ?? 0);
        entry.peer.noteTraffic({ direction: 'received', localIndex: current, empty: !data }, now, out);
      }
    }
    this.apply(out);
  }

  private apply(out: Output): void {
    if (this.closed) return;
    for (const change of out.sessions) {
      const entry = this.byKey.get(keyToBase64(change.peer.publicKey));
      if (entry) this.applySession(entry, change);
    }
    for (const { peer, packet } of out.outbound) {
      const entry = this.byKey.get(keyToBase64(peer.publicKey));
      // Only keepalives come this way: data packets never leave the native path.
      if (entry && packet.length === 0) this.datapath.sendKeepalive(entry.id);
    }
    for (const { to, bytes, peer } of out.transmit) {
      const entry = peer ? this.byKey.get(keyToBase64(peer)) : undefined;
      try {
        // A relayed peer's handshakes travel its path like its transport does.
        if (entry?.relayVia !== undefined) this.datapath.sendControlToPeer(bytes, entry.id);
        else this.datapath.sendControl(bytes, formatEndpoint(to));
      } catch {
        // An unreachable endpoint is a lost datagram; the handshake timers retry.
      }
    }
    this.schedule();
  }

  private applySession(entry: PeerEntry, change: SessionChange): void {
    if (change.kind === 'removed') {
      this.datapath.removeSession(change.localIndex);
      return;
    }
    if (change.kind === 'sendingWith') {
      entry.lastHandshakeAt = performance.now();
      return;
    }
    const keys = change.session.keyMaterial();
    try {
      if (change.peer.endpoint && entry.relayVia === undefined)
        this.datapath.setEndpoint(entry.id, formatEndpoint(change.peer.endpoint));
      this.datapath.installSession(entry.id, {
        localIndex: change.session.localIndex,
        remoteIndex: change.session.remoteIndex,
        sendKey: keys.sendKey,
        receiveKey: keys.receiveKey,
        initiator: change.session.isInitiator,
      });
      if (change.session.isInitiator) entry.lastHandshakeAt = performance.now();
    } catch {
      // The data path refused it (its peer went away meanwhile): the session is simply not
      // used, and the timers start a new handshake when traffic needs one.
      this.failedInstalls++;
    } finally {
      // The data path has its own copy; the handshake side never encrypts with these
      // (externalTransport), so erase them here rather than keep a second copy alive.
      keys.sendKey.fill(0);
      keys.receiveKey.fill(0);
    }
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    const at = this.device.nextWakeAt();
    if (at === undefined) return;
    const delay = Math.max(0, Math.ceil(at - performance.now()));
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.apply(this.device.tick(performance.now()));
    }, delay);
  }
}

function merge(into: Output, from: Output): void {
  into.transmit.push(...from.transmit);
  into.delivered.push(...from.delivered);
  into.sessions.push(...from.sessions);
  into.dropped.push(...from.dropped);
  into.outbound.push(...from.outbound);
}
