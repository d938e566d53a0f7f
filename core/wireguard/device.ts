/**
 * The WireGuard side of a node: our static identity, the peers we accept, the index table that maps
 * receiver indices to peers, and the cookie checker. It turns (datagram, source, now) into an Output
 * of datagrams to send, packets delivered and session changes; it performs no I/O itself.
 */
import type { Endpoint } from '../base/endpoint.js';
import { type PeerId, peerId } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import {
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  type Timings,
  timingsWith,
} from './constants.js';
import { CookieChecker } from './cookie.js';
import { type DropReason, type Message, parseMessage } from './messages.js';
import { consumeInitiation } from './noise.js';
import { emptyOutput, type Output, Peer, type PeerConfig, type PeerContext } from './peer.js';
import { type KeyPair, publicKeyOf, type RandomSource, secureRandom } from './primitives.js';

export interface DeviceOptions {
  readonly privateKey: Uint8Array;
  readonly random?: RandomSource;
  /** Wall clock for TAI64N timestamps, ms since the Unix epoch; defaults to Date.now. */
  readonly wallClock?: () => number;
  /** Tests only: replace some whitepaper timings, e.g. `{ rekeyAfterTime: 5_000 }`. */
  readonly timings?: Partial<Timings>;
  /** whitepaper §5.3: the node's own judgement of load; while true, handshakes need a valid mac2. */
  readonly underLoad?: (now: number) => boolean;
  /** Padding never grows an inner packet beyond this (whitepaper §5.4.6). */
  readonly mtu?: number;
  /** The native data path seals transport messages; see PeerContext.externalTransport. */
  readonly externalTransport?: boolean;
}

export class Device {
  readonly publicKey: Uint8Array;
  private readonly local: KeyPair;
  private readonly peers = new Map<PeerId, Peer>();
  private readonly indices = new Map<number, Peer>();
  private readonly checker: CookieChecker;
  private readonly ctx: PeerContext;
  private readonly underLoad: (now: number) => boolean;

  constructor(options: DeviceOptions) {
    const random = options.random ?? secureRandom;
    const privateKey = options.privateKey.slice();
    this.publicKey = publicKeyOf(privateKey);
    this.local = { privateKey, publicKey: this.publicKey };
    const timings = timingsWith(options.timings);
    this.checker = new CookieChecker(this.publicKey, random, timings.cookieRefreshTime);
    this.underLoad = options.underLoad ?? (() => false);
    this.ctx = {
      local: this.local,
      timings,
      random,
      wallClock: options.wallClock ?? Date.now,
      mtu: options.mtu,
      externalTransport: options.externalTransport ?? false,
      allocateIndex: (peer) => this.allocateIndex(peer),
      releaseIndex: (index) => {
        this.indices.delete(index);
      },
    };
  }

  addPeer(config: PeerConfig, now: number): Peer {
    const id = peerId(config.publicKey);
    if (this.peers.has(id)) throw new OverlayError('EUSAGE', 'this WireGuard peer is already configured');
    const peer = new Peer(config, this.ctx, now);
    this.peers.set(id, peer);
    return peer;
  }

  /** Forgets a peer and erases its keys; the Output lists the sessions to remove from the data path. */
  removePeer(publicKey: Uint8Array): Output {
    const out = emptyOutput();
    const id = peerId(publicKey);
    const peer = this.peers.get(id);
    if (peer) {
      peer.zeroAll(out);
      this.peers.delete(id);
    }
    return out;
  }

  peer(publicKey: Uint8Array): Peer | undefined {
    return this.peers.get(peerId(publicKey));
  }

  /** Sends an inner packet to a peer through the TypeScript reference data path. */
  send(publicKey: Uint8Array, packet: Uint8Array, now: number): Output {
    const out = emptyOutput();
    const peer = this.peer(publicKey);
    if (peer) peer.send(packet, now, out);
    else out.dropped.push('unknownPeer');
    return out;
  }

  /** Handles one datagram from the UDP socket. */
  receive(bytes: Uint8Array, from: Endpoint, now: number): Output {
    const out = emptyOutput();
    const parsed = parseMessage(bytes);
    if (!parsed.ok) out.dropped.push(parsed.reason);
    else this.route(parsed.value, from, now, out);
    return out;
  }

  /** Runs every peer's due timers; call at nextWakeAt(). */
  tick(now: number): Output {
    const out = emptyOutput();
    for (const peer of this.peers.values()) peer.tick(now, out);
    return out;
  }

  nextWakeAt(): number | undefined {
    let min: number | undefined;
    for (const peer of this.peers.values()) {
      const at = peer.nextWakeAt();
      if (at !== undefined && (min === undefined || at < min)) min = at;
    }
    return min;
  }

  private route(msg: Message, from: Endpoint, now: number, out: Output): void {
    if (msg.type === MESSAGE_INITIATION || msg.type === MESSAGE_RESPONSE) {
      const refused = this.checkMacs(msg.bytes, msg.senderIndex, from, now, out);
      if (refused) {
        out.dropped.push(refused);
        return;
      }
    }
    if (msg.type === MESSAGE_INITIATION) {
      const consumed = consumeInitiation(this.local, msg);
      if (!consumed.ok) {
        out.dropped.push(consumed.reason);
        return;
      }
      const peer = this.peers.get(peerId(consumed.value.remoteStatic));
      if (!peer) {
        out.dropped.push('unknownPeer');
        return;
      }
      peer.onInitiation(consumed.value, from, now, out);
      return;
    }
    const peer = this.indices.get(msg.receiverIndex);
    if (!peer) {
      out.dropped.push('unknownReceiver');
      return;
    }
    if (msg.type === MESSAGE_RESPONSE) peer.onResponse(msg, from, now, out);
    else if (msg.type === MESSAGE_COOKIE_REPLY) peer.onCookieReply(msg, now, out);
    else peer.onTransport(msg, from, now, out);
  }

  /**
   * whitepaper §5.3: mac1 always; under load also mac2, answering a missing or stale one with a cookie
   * reply instead of spending a Diffie-Hellman on the message.
   */
  private checkMacs(
    bytes: Uint8Array,
    senderIndex: number,
    from: Endpoint,
    now: number,
    out: Output,
  ): DropReason | null {
    if (!this.checker.checkMac1(bytes)) return 'badMac1';
    if (!this.underLoad(now) || this.checker.checkMac2(bytes, from, now)) return null;
    out.transmit.push({ to: from, bytes: this.checker.createReply(bytes, senderIndex, from, now) });
    return 'needCookie';
  }

  /** A fresh random 32-bit index not in use (whitepaper §5.4.2: chosen randomly per handshake). */
  private allocateIndex(peer: Peer): number {
    // 2^32 indices and at most a few per peer: a healthy random source finds a free one at once.
    for (let tries = 0; tries < 1024; tries++) {
      const r = this.ctx.random(4);
      const index = ((r[0]! | (r[1]! << 8) | (r[2]! << 16) | (r[3]! << 24)) >>> 0) as number;
      if (!this.indices.has(index)) {
        this.indices.set(index, peer);
        return index;
      }
    }
    throw new OverlayError('EINTERNAL', 'could not allocate a free WireGuard session index');
  }
}
