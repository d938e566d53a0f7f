/**
 * What the data path hands up, in one place: handshake messages to the handshake side, overlay's
 * own messages and STUN answers to the node's handlers, and its events (a handshake needed, a
 * session confirmed, a peer roamed, traffic after a quiet spell). Every datagram ends in exactly one count (controlCounts.ts).
 */
import { performance } from 'node:perf_hooks';
import type { DataPathEvent } from 'tun-napi';
import { parseEndpoint } from '../base/endpoint.js';
import { peerId } from '../base/keys.js';
import type { Device } from '../wireguard/device.js';
import { emptyOutput, type Output } from '../wireguard/peer.js';
import type { ControlCounts } from './controlCounts.js';
import type { HandshakeDriver } from './handshakes.js';
import type { DataPathIo } from './io.js';
import type { PeerEntry, PeerTable } from './peerTable.js';
import type { TunnelOptions } from './types.js';

/** overlay's own message types start here; WireGuard uses 1..4 (DESIGN.md "Wire protocol"). */
const FIRST_OVERLAY_TYPE = 0x80;

export interface InboundContext {
  readonly device: Device;
  readonly datapath: DataPathIo;
  readonly peers: PeerTable;
  readonly handshakes: HandshakeDriver;
  readonly counts: ControlCounts;
  readonly onOverlayMessage: TunnelOptions['onOverlayMessage'];
  readonly onStunMessage: TunnelOptions['onStunMessage'];
  /** The data path moved transport since its traffic watch was armed (trafficWatch.ts). */
  onTraffic(): void;
}

export class Inbound {
  private closed = false;

  constructor(private readonly c: InboundContext) {}

  /** One batch of the data path's events, as its onEvents callback gets them. */
  onEvents(events: DataPathEvent[]): void {
    if (this.closed) return;
    const now = performance.now();
    const out = emptyOutput();
    // Whether the handshake side saw any of it: a batch of overlay messages only (most of what a
    // node with many peers hears) leaves its timers as they were, and re-reading them costs O(peers).
    let handshakeSide = false;
    for (const e of events) {
      if (e.type !== 'stun' && !(e.type === 'control' && isOverlayMessage(e.data))) handshakeSide = true;
      switch (e.type) {
        case 'control':
          this.onControl(e, now, out);
          break;
        case 'stun':
          this.onStun(e);
          break;
        case 'handshake-needed': {
          const entry = this.c.peers.get(e.peer);
          if (!entry) break;
          entry.peer.initiate(now, out, false);
          if (!entry.peer.handshakeInFlight) entry.handshakeWanted = true;
          break;
        }
        case 'session-confirmed': {
          const entry = this.c.peers.get(e.peer);
          entry?.peer.noteTraffic({ direction: 'received', localIndex: e.localIndex, empty: true }, now, out);
          break;
        }
        case 'endpoint-changed': {
          const entry = this.c.peers.get(e.peer);
          const ep = parseEndpoint(e.endpoint);
          if (entry && ep) entry.peer.endpoint = ep;
          break;
        }
        case 'traffic':
          this.c.onTraffic();
          break;
      }
    }
    if (handshakeSide) this.c.handshakes.apply(out);
  }

  /** Nothing handed up after this is looked at. */
  close(): void {
    this.closed = true;
  }

  /** One datagram the data path handed up; whatever becomes of it is counted once (controlCounts.ts). */
  private onControl(e: Extract<DataPathEvent, { type: 'control' }>, now: number, out: Output): void {
    const { counts, peers } = this.c;
    const relayed = e.via !== undefined ? peers.get(e.via) : undefined;
    const from = parseEndpoint(e.from);
    if (e.via !== undefined && !relayed) counts.drop('unknownRelay');
    else if (!from) counts.drop('badSource');
    else if (isOverlayMessage(e.data)) {
      if (!this.c.onOverlayMessage) counts.drop('noHandler');
      else {
        counts.overlayUp();
        this.c.onOverlayMessage(e.data, from, relayed?.peer.publicKey, { socket: e.socket, at: e.at });
      }
    } else {
      // A relayed handshake's UDP source is the relay: the sender's own endpoint must not move
      // there, or its traffic would go to the relay unwrapped once the path turns direct.
      const sender = e.peer !== undefined ? peers.get(e.peer) : undefined;
      const source = relayed ? (sender?.peer.endpoint ?? from) : from;
      const result = this.c.device.receive(e.data, source, now);
      if (relayed && sender && sender.relayVia === undefined)
        this.answerThroughRelay(result, sender, relayed);
      // One datagram, one outcome: the handshake side names at most one reason to drop it.
      const reason = result.dropped[0];
      if (reason) counts.drop(reason);
      else counts.handshakeAccepted();
      merge(out, result);
    }
  }

  /** A STUN answer: the data path told it from an initiation (same first byte) by its magic cookie. */
  private onStun(e: Extract<DataPathEvent, { type: 'stun' }>): void {
    const from = parseEndpoint(e.from);
    if (!from) this.c.counts.drop('badSource');
    else if (!this.c.onStunMessage) this.c.counts.drop('noHandler');
    else {
      this.c.counts.stunUp();
      this.c.onStunMessage(e.data, from);
    }
  }

  /**
   * The peer reached us through a relay before our own discovery chose that relay for it (the two
   * ends decide a moment apart): a handshake response sent to its direct endpoint would be lost and
   * cost a whole REKEY_TIMEOUT, so it goes back the way the initiation came.
   */
  private answerThroughRelay(result: Output, sender: PeerEntry, relay: PeerEntry): void {
    const { datapath } = this.c;
    const mine = result.transmit.filter((t) => t.peer && peerId(t.peer) === sender.key);
    if (mine.length === 0) return;
    result.transmit.splice(0, result.transmit.length, ...result.transmit.filter((t) => !mine.includes(t)));
    const previous = datapath.peerStats(sender.id)?.endpoint ?? null;
    try {
      datapath.setPeerPath(sender.id, { relay: relay.id });
      for (const t of mine) datapath.sendControlToPeer(t.bytes, sender.id);
      // With no direct endpoint at all the relay is the only way, so the peer stays on it.
      if (previous) datapath.setPeerPath(sender.id, { direct: previous });
      else sender.relayVia = relay.key;
    } catch {
      // A lost response: the initiator's retry timer sends another.
    }
  }
}

function isOverlayMessage(data: Uint8Array): boolean {
  return (data[0] ?? 0) >= FIRST_OVERLAY_TYPE;
}

function merge(into: Output, from: Output): void {
  into.transmit.push(...from.transmit);
  into.delivered.push(...from.delivered);
  into.sessions.push(...from.sessions);
  into.dropped.push(...from.dropped);
  into.outbound.push(...from.outbound);
}
