/**
 * One remote peer: its handshake in flight, its sessions (current, previous, next), its timers and
 * the packets waiting for a session. Pure: every method takes `now` and appends what to do to an
 * Output; the Device routes incoming messages here and the caller performs the I/O.
 */
// Long file: one WireGuard peer as one state machine — handshake, session rotation (current,
// previous, next) and the whitepaper's timers act on the same fields under one set of rules (§6),
// and read best whole; the handshake's cryptography (noise.ts), sessions (keypair.ts), timers
// (timers.ts) and cookies (cookie.ts) are already apart.
import type { Endpoint } from '../base/endpoint.js';
import type { Timings } from './constants.js';
import { CookieJar } from './cookie.js';
import { Session } from './keypair.js';
import type { CookieReply, DropReason, Response, Transport } from './messages.js';
import {
  consumeResponse,
  createInitiation,
  createResponse,
  type InitiatorHandshake,
  type ResponderHandshake,
  zeroInitiator,
} from './noise.js';
import { compareTimestamps, generateKeyPair, type KeyPair, type RandomSource, tai64n } from './primitives.js';
import { PeerTimers, type TimerAction } from './timers.js';

export interface PeerConfig {
  readonly publicKey: Uint8Array;
  /** whitepaper §5.2: optional 32-byte symmetric key mixed into the handshake (post-quantum hedge). */
  readonly presharedKey?: Uint8Array;
  readonly endpoint?: Endpoint;
  /** Send a keepalive after this long without sending anything (0 or absent: off). */
  readonly persistentKeepaliveMs?: number;
}

/** What the device lends each peer: identity, clocks, randomness and the index table. */
export interface PeerContext {
  readonly local: KeyPair;
  readonly timings: Timings;
  readonly random: RandomSource;
  /** Wall-clock milliseconds since the Unix epoch, only for TAI64N timestamps (whitepaper §5.1). */
  readonly wallClock: () => number;
  readonly mtu: number | undefined;
  /**
   * True when a data path outside TypeScript (the native addon) holds the session keys and their
   * counters. Then this peer never encrypts: two encryptors with one key would reuse nonces. Its
   * keepalives go out as Output.outbound for that data path to seal.
   */
  readonly externalTransport: boolean;
  allocateIndex(peer: Peer): number;
  releaseIndex(index: number): void;
}

export type SessionChange =
  /** New keys the data path may receive with (and, for the initiator, send with at once). */
  | { kind: 'installed'; peer: Peer; session: Session }
  /** This session is now the one to send with. */
  | { kind: 'sendingWith'; peer: Peer; session: Session }
  /** Keys erased; forget this receiver index. */
  | { kind: 'removed'; peer: Peer; localIndex: number };

/** Everything one call asks the caller to do. */
export interface Output {
  /**
   * Datagrams to send. `peer` (its public key) is set on handshake messages a Peer makes, so a
   * caller whose peers may be reached through a relay can send them along that peer's path.
   */
  readonly transmit: { to: Endpoint; bytes: Uint8Array; peer?: Uint8Array }[];
  /** Decrypted inner packets (still zero-padded to 16 bytes; the IP header says the real length). */
  readonly delivered: { peer: Peer; packet: Uint8Array }[];
  readonly sessions: SessionChange[];
  readonly dropped: DropReason[];
  /** externalTransport only: inner packets (empty: keepalive) for the data path to seal and send. */
  readonly outbound: { peer: Peer; packet: Uint8Array }[];
}

export function emptyOutput(): Output {
  return { transmit: [], delivered: [], sessions: [], dropped: [], outbound: [] };
}

/** Packets waiting for a handshake; beyond this the oldest go, like a full queue on a real link. */
const MAX_QUEUED = 128;
const EMPTY = new Uint8Array(0);

export class Peer {
  readonly publicKey: Uint8Array;
  endpoint: Endpoint | undefined;
  private readonly presharedKey: Uint8Array | undefined;
  private readonly cookies: CookieJar;
  private readonly timers: PeerTimers;
  private handshake: InitiatorHandshake | undefined;
  private lastInitiationAt: number | undefined;
  /** whitepaper §5.1: greatest initiation timestamp accepted from this peer. */
  private greatestTimestamp: Uint8Array | undefined;
  private current: Session | undefined;
  private previous: Session | undefined;
  /** Responder's new session, unused for sending until the initiator proves it has it (§5.4.6). */
  private next: Session | undefined;
  private queue: Uint8Array[] = [];
  private completedHandshakes = 0;
  /** Initiation sent to response received, for the last handshake this peer answered (ms). */
  private lastHandshakeRtt: number | undefined;

  constructor(
    config: PeerConfig,
    private readonly ctx: PeerContext,
    now: number,
  ) {
    this.publicKey = config.publicKey.slice();
    this.presharedKey = config.presharedKey?.slice();
    this.endpoint = config.endpoint;
    this.cookies = new CookieJar(this.publicKey, ctx.timings.cookieRefreshTime);
    this.timers = new PeerTimers(ctx.timings, ctx.random);
    if (config.persistentKeepaliveMs) {
      this.timers.on({ kind: 'persistentKeepaliveSet', intervalMs: config.persistentKeepaliveMs }, now);
    }
  }

  /** The session packets are sent with, if any. */
  get sendingSession(): Session | undefined {
    return this.current;
  }

  /** Completed handshakes, for status and tests. */
  get handshakes(): number {
    return this.completedHandshakes;
  }

  /** Round trip of our last answered initiation: the one RTT a WireGuard peer gives for free. */
  get handshakeRttMs(): number | undefined {
    return this.lastHandshakeRtt;
  }

  get queuedPackets(): number {
    return this.queue.length;
  }

  /** When the last initiation was sent (the clock `initiate` was given), if ever. */
  get lastInitiationSentAt(): number | undefined {
    return this.lastInitiationAt;
  }

  get handshakeInFlight(): boolean {
    return this.handshake !== undefined;
  }

  setPersistentKeepalive(intervalMs: number, now: number): void {
    this.timers.on({ kind: 'persistentKeepaliveSet', intervalMs }, now);
  }

  /** Sends one inner packet (empty: a keepalive), or queues it and starts a handshake. */
  send(packet: Uint8Array, now: number, out: Output): void {
    const session = this.current;
    if (!session?.canSend(now) || !this.endpoint) {
      this.enqueue(packet);
      this.initiate(now, out, false);
      return;
    }
    this.sendWith(session, packet, now, out);
    if (session.wantsRekeyOnSend(now)) this.initiate(now, out, false);
  }

  /** Starts (or, with retry, retransmits) a handshake (whitepaper §5.4.2, §6.4). */
  initiate(now: number, out: Output, retry: boolean): void {
    const t = this.ctx.timings;
    if (!retry) {
      // whitepaper §6.4: one initiation per REKEY_TIMEOUT; a retry timer already covers one in flight.
      if (this.handshake) return;
      if (this.lastInitiationAt !== undefined && now - this.lastInitiationAt < t.rekeyTimeout) return;
    }
    if (!this.endpoint) return;
    this.dropHandshake();
    const localIndex = this.ctx.allocateIndex(this);
    const ephemeral = generateKeyPair(this.ctx.random);
    const created = createInitiation({
      local: this.ctx.local,
      remoteStatic: this.publicKey,
      localIndex,
      ephemeral,
      timestamp: tai64n(this.ctx.wallClock()),
    });
    ephemeral.privateKey.fill(0);
    if (!created) {
      this.ctx.releaseIndex(localIndex);
      return;
    }
    this.handshake = created.handshake;
    this.cookies.stamp(created.message, now);
    this.lastInitiationAt = now;
    out.transmit.push({ to: this.endpoint, bytes: created.message, peer: this.publicKey });
    this.timers.on({ kind: 'initiationSent', retry }, now);
    this.timers.on({ kind: 'authenticatedSent' }, now);
  }

  /** A valid initiation from this peer (macs and decryption already checked by the device). */
  onInitiation(h: ResponderHandshake, from: Endpoint, now: number, out: Output): void {
    // whitepaper §5.1: a replayed (or older) initiation must not reset our sessions.
    if (this.greatestTimestamp && compareTimestamps(h.timestamp, this.greatestTimestamp) <= 0) {
      out.dropped.push('replayedTimestamp');
      return;
    }
    const localIndex = this.ctx.allocateIndex(this);
    const ephemeral = generateKeyPair(this.ctx.random);
    const created = createResponse(h, { localIndex, ephemeral, presharedKey: this.presharedKey });
    ephemeral.privateKey.fill(0);
    if (!created) {
      this.ctx.releaseIndex(localIndex);
      out.dropped.push('badPublicKey');
      return;
    }
    this.greatestTimestamp = h.timestamp;
    this.endpoint = from;
    this.cookies.stamp(created.message, now);
    out.transmit.push({ to: from, bytes: created.message, peer: this.publicKey });
    const session = new Session(
      created.keys,
      { localIndex, remoteIndex: h.remoteIndex, isInitiator: false, createdAt: now },
      this.ctx.timings,
    );
    this.retire(this.next, out);
    this.next = session;
    out.sessions.push({ kind: 'installed', peer: this, session });
    this.timers.on({ kind: 'authenticatedReceived' }, now);
    this.timers.on({ kind: 'sessionDerived' }, now);
    this.timers.on({ kind: 'authenticatedSent' }, now);
  }

  /** A response addressed to our handshake's index (macs already checked by the device). */
  onResponse(msg: Response, from: Endpoint, now: number, out: Output): void {
    const h = this.handshake;
    if (!h || h.localIndex !== msg.receiverIndex) {
      out.dropped.push('unexpectedMessage');
      return;
    }
    const result = consumeResponse(h, this.ctx.local, msg, this.presharedKey);
    if (!result.ok) {
      out.dropped.push(result.reason);
      return;
    }
    this.handshake = undefined;
    this.endpoint = from;
    if (this.lastInitiationAt !== undefined) this.lastHandshakeRtt = now - this.lastInitiationAt;
    const session = new Session(
      result.value.keys,
      { localIndex: h.localIndex, remoteIndex: result.value.remoteIndex, isInitiator: true, createdAt: now },
      this.ctx.timings,
    );
    // whitepaper §6.3: the initiator may send at once; the old current stays to receive stragglers.
    // An unconfirmed responder session (`next`) stays too: when both sides initiated at once, it is
    // the session the other side completed as initiator and sends on now. Dropped here, as WireGuard
    // does, its packets would find no session on either side until a timer started a third
    // handshake 15 s later. It is promoted (confirmNext) by its first packet, as any `next` is.
    this.retire(this.previous, out);
    this.previous = this.current;
    this.current = session;
    this.completedHandshakes++;
    out.sessions.push({ kind: 'installed', peer: this, session });
    out.sessions.push({ kind: 'sendingWith', peer: this, session });
    this.timers.on({ kind: 'handshakeCompleted' }, now);
    this.timers.on({ kind: 'sessionDerived' }, now);
    this.timers.on({ kind: 'authenticatedReceived' }, now);
    // The responder cannot send until it hears from us on this session: flush, or confirm with a keepalive.
    if (this.queue.length === 0) this.queue.push(EMPTY);
    this.flush(now, out);
  }

  onCookieReply(reply: CookieReply, now: number, out: Output): void {
    // whitepaper §6.6: keep the cookie for the next retransmission; do not resend right away.
    if (!this.cookies.consumeReply(reply, now)) out.dropped.push('decryptFailed');
  }

  onTransport(msg: Transport, from: Endpoint, now: number, out: Output): void {
    const session = [this.current, this.previous, this.next].find((s) => s?.localIndex === msg.receiverIndex);
    if (!session) {
      out.dropped.push('unknownReceiver');
      return;
    }
    const opened = session.decrypt(msg, now);
    if (!opened.ok) {
      out.dropped.push(opened.reason);
      return;
    }
    this.endpoint = from;
    if (session === this.next) this.confirmNext(now, out);
    this.timers.on({ kind: 'authenticatedReceived' }, now);
    if (opened.value.length > 0) {
      this.timers.on({ kind: 'dataReceived' }, now);
      out.delivered.push({ peer: this, packet: opened.value });
    }
    if (session === this.current && session.wantsRekeyOnReceive(now)) this.initiate(now, out, false);
  }

  /**
   * For a data path outside TypeScript (the native addon): it sent or authenticated a transport packet
   * of this peer's session `localIndex`. Runs the same timers, key confirmation and age-based rekey as
   * send()/onTransport(); message-count rekeys are the data path's to report via initiate().
   */
  noteTraffic(
    traffic: { direction: 'sent' | 'received'; localIndex: number; empty: boolean; from?: Endpoint },
    now: number,
    out: Output,
  ): void {
    if (traffic.direction === 'sent') {
      if (!traffic.empty) this.timers.on({ kind: 'dataSent' }, now);
      this.timers.on({ kind: 'authenticatedSent' }, now);
      if (this.current?.wantsRekeyOnSend(now)) this.initiate(now, out, false);
      return;
    }
    if (traffic.from) this.endpoint = traffic.from;
    if (this.next?.localIndex === traffic.localIndex) this.confirmNext(now, out);
    this.timers.on({ kind: 'authenticatedReceived' }, now);
    if (!traffic.empty) this.timers.on({ kind: 'dataReceived' }, now);
    if (this.current?.localIndex === traffic.localIndex && this.current.wantsRekeyOnReceive(now)) {
      this.initiate(now, out, false);
    }
  }

  /** Expires old sessions and runs due timers. */
  tick(now: number, out: Output): void {
    for (const slot of ['current', 'previous', 'next'] as const) {
      const s = this[slot];
      if (s?.isExpired(now)) {
        this.retire(s, out);
        this[slot] = undefined;
      }
    }
    for (const action of this.timers.due(now)) this.perform(action, now, out);
  }

  nextWakeAt(): number | undefined {
    const candidates = [this.timers.nextDeadline()];
    for (const s of [this.current, this.previous, this.next]) {
      if (s) candidates.push(s.createdAt + this.ctx.timings.rejectAfterTime);
    }
    let min: number | undefined;
    for (const c of candidates) if (c !== undefined && (min === undefined || c < min)) min = c;
    return min;
  }

  /** Erases every key this peer holds (whitepaper §6.3), e.g. when it is removed. */
  zeroAll(out: Output): void {
    this.dropHandshake();
    for (const slot of ['current', 'previous', 'next'] as const) {
      this.retire(this[slot], out);
      this[slot] = undefined;
    }
    this.queue = [];
    this.timers.clearAfterZero();
  }

  private perform(action: TimerAction, now: number, out: Output): void {
    switch (action.kind) {
      case 'sendInitiation':
        this.initiate(now, out, action.retry);
        break;
      case 'sendKeepalive':
        this.send(EMPTY, now, out);
        break;
      case 'giveUp':
        this.dropHandshake();
        this.queue = [];
        break;
      case 'zeroKeys':
        this.zeroAll(out);
        break;
    }
  }

  private sendWith(session: Session, packet: Uint8Array, now: number, out: Output): void {
    if (this.ctx.externalTransport) {
      out.outbound.push({ peer: this, packet });
    } else {
      const bytes = session.encrypt(packet, now, this.ctx.mtu);
      if (!bytes || !this.endpoint) return;
      out.transmit.push({ to: this.endpoint, bytes });
    }
    if (packet.length > 0) this.timers.on({ kind: 'dataSent' }, now);
    this.timers.on({ kind: 'authenticatedSent' }, now);
  }

  private confirmNext(now: number, out: Output): void {
    const session = this.next!;
    this.next = undefined;
    this.retire(this.previous, out);
    this.previous = this.current;
    this.current = session;
    this.completedHandshakes++;
    out.sessions.push({ kind: 'sendingWith', peer: this, session });
    this.timers.on({ kind: 'handshakeCompleted' }, now);
    this.flush(now, out);
  }

  private flush(now: number, out: Output): void {
    const session = this.current;
    if (!session?.canSend(now)) return;
    const queued = this.queue;
    this.queue = [];
    for (const packet of queued) this.sendWith(session, packet, now, out);
  }

  private enqueue(packet: Uint8Array): void {
    if (this.queue.length >= MAX_QUEUED) this.queue.shift();
    this.queue.push(packet);
  }

  private dropHandshake(): void {
    if (!this.handshake) return;
    this.ctx.releaseIndex(this.handshake.localIndex);
    zeroInitiator(this.handshake);
    this.handshake = undefined;
  }

  private retire(session: Session | undefined, out: Output): void {
    if (!session) return;
    session.zero();
    this.ctx.releaseIndex(session.localIndex);
    out.sessions.push({ kind: 'removed', peer: this, localIndex: session.localIndex });
  }
}
