/**
 * The handshake side's glue: carries out what core/wireguard's Device asks (sessions to install or
 * remove, keepalives, handshake messages to send), runs its timers, and turns the data path's
 * per-peer counters into the traffic notes those timers need.
 *
 * Packets never come up to JavaScript, so the counters are read a few times a second while
 * traffic moves (trafficWatch.ts): the precision the whitepaper's timers need (seconds).
 */
import { performance } from 'node:perf_hooks';
import type { DataPathPeerStats } from 'tun-napi';
import { formatEndpoint } from '../base/endpoint.js';
import { type PeerId, peerId } from '../base/keys.js';
import type { Device } from '../wireguard/device.js';
import { emptyOutput, type Output, type SessionChange } from '../wireguard/peer.js';
import { TIMESTAMP_GRANULARITY_MS } from '../wireguard/primitives.js';
import type { DataPathIo } from './io.js';
import type { PeerEntry, PeerTable } from './peerTable.js';

export interface HandshakeDriverHooks {
  /** This side sent keepalives itself: the counters move without a data-path event. */
  sentKeepalives(): void;
  /** A peer's transport moved (either way, keepalives included) since the counters were last read. */
  peerTraffic(key: PeerId): void;
}

export class HandshakeDriver {
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Sessions the data path refused to install; should stay 0. */
  failedInstalls = 0;

  constructor(
    private readonly device: Device,
    private readonly datapath: DataPathIo,
    private readonly peers: PeerTable,
    private readonly hooks: HandshakeDriverHooks,
  ) {}

  /** Carries out what the handshake side asked, then sets its next timer. */
  apply(out: Output): void {
    if (this.closed) return;
    for (const change of out.sessions) {
      const entry = this.peers.find(peerId(change.peer.publicKey));
      if (entry) this.applySession(entry, change);
    }
    let keepalives = false;
    for (const { peer, packet } of out.outbound) {
      const entry = this.peers.find(peerId(peer.publicKey));
      // Only keepalives come this way: data packets never leave the native path.
      if (entry && packet.length === 0) keepalives = this.datapath.sendKeepalive(entry.id) || keepalives;
    }
    if (keepalives) this.hooks.sentKeepalives();
    for (const { to, bytes, peer } of out.transmit) {
      const entry = peer ? this.peers.find(peerId(peer)) : undefined;
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

  /**
   * A handshake in flight went out on the old path and is likely lost: send it again now on the
   * new one rather than wait for the retry timer (whitepaper §6.4's 5 s).
   */
  resendHandshake(entry: PeerEntry): void {
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

  /**
   * Reads every peer's counters and tells the handshake side which way traffic flowed, and the
   * tunnel's owner which peers it flowed to. True if any peer's moved since the last read.
   */
  pollTraffic(): boolean {
    const now = performance.now();
    const out = emptyOutput();
    let moved = false;
    for (const entry of this.peers.values()) {
      const s: DataPathPeerStats | null = this.datapath.peerStats(entry.id);
      if (!s) continue;
      const current = s.currentIndex ?? 0;
      const sent = s.txPackets !== entry.lastTxPackets;
      const received = s.rxPackets !== entry.lastRxPackets;
      if (sent) {
        entry.lastTxPackets = s.txPackets;
        const data = s.lastTxDataAgeMs !== null && s.lastTxDataAgeMs <= (s.lastTxAgeMs ?? 0);
        entry.peer.noteTraffic({ direction: 'sent', localIndex: current, empty: !data }, now, out);
      }
      if (received) {
        entry.lastRxPackets = s.rxPackets;
        const data = s.lastRxDataAgeMs !== null && s.lastRxDataAgeMs <= (s.lastRxAgeMs ?? 0);
        entry.peer.noteTraffic({ direction: 'received', localIndex: current, empty: !data }, now, out);
      }
      if (sent || received) {
        moved = true;
        this.hooks.peerTraffic(entry.key);
      }
    }
    this.apply(out);
    return moved;
  }

  /** Stops the timers; nothing is applied after this. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
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

  /** Sets the timer for the handshake side's next wake-up (a new peer may need one at once). */
  schedule(): void {
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
