/**
 * The data path's in-memory twin (core/tunnel/io.ts DataPathIo): one node's socket on a SimNet
 * host, carrying WireGuard transport (ChaCha20-Poly1305 under the session keys the node installs),
 * handshake and overlay messages, and relay envelopes (memoryRelay.ts) between nodes of one
 * process. It keeps the native engine's contract where the node can tell: the same events in
 * batches on the event loop, the same counters for the same drops, the same classification of what
 * goes up (admission.h), the same errors for bad arguments; test/twins/compliance.test.ts runs one
 * suite against both. Not modelled: the handshake screen under load (cookie replies), per-member
 * budgets for sealed messages, forwarding for plain WireGuard devices, GSO/GRO.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import type {
  DataPathEvent,
  DataPathOptions,
  DataPathPeerPath,
  DataPathPeerStats,
  DataPathRelayTags,
  DataPathSession,
  DataPathStats,
  HandshakeScreenOptions,
} from 'tun-napi';
import { bytesEqual } from '../../core/base/bytes.js';
import { canonicalEndpoint } from '../../core/base/endpoint.js';
import { isStunMessage } from '../../core/stun/message.js';
import type { DataPathIo, TunDevice } from '../../core/tunnel/io.js';
import { TUN_MTU } from '../../core/tunnel/mtu.js';
import { mac1Offset } from '../../core/wireguard/messages.js';
import { mac } from '../../core/wireguard/primitives.js';
import type { SimHost, SimNat, SimNet } from '../discovery/netSim.js';
import {
  emptyDataPathStats,
  longestMatch,
  PeerState,
  type Prefix,
  parsePrefixes,
  type Session,
} from './memoryPeer.js';
import {
  deriveRelayKey,
  ENVELOPE,
  ENVELOPE_HEADER,
  envelopeMacOk,
  FROM_RELAY,
  ReplayWindow,
  sealEnvelope,
  TO_RELAY,
  tagValue,
} from './memoryRelay.js';

/** Where a memory data path's socket lives: a machine on the simulated internet. */
export interface SimMachine {
  readonly net: SimNet;
  readonly name: string;
  ip: string;
  readonly nat?: SimNat;
}

const TRANSPORT = 4;
const TRANSPORT_HEADER = 16;
const TAG = 16;
const SIZES: Record<number, number> = { 1: 148, 2: 92, 3: 64 };
const SEALED = 0x80;
const JOIN_QUERY = 0x81;
const SEALED_MIN = 1 + 32 + 24 + 16 + 18 + 16;
const SEALED_MAX = 1280;
const BATCH = 64;
/** engine.h kRelayChargeOverhead: what a forwarded envelope is charged beyond its length. */
const RELAY_CHARGE_OVERHEAD = 64;

export class MemoryDataPath implements DataPathIo {
  readonly relayEpoch = new Uint8Array(randomBytes(16));
  private readonly host: SimHost;
  private readonly boundPort: number;
  private readonly peers = new Map<number, PeerState>();
  /**
   * Peers by their relay key's remote tag, as the native peer table finds them: a hint, checked
   * against the peer itself on every use (a scan finds what it misses), so it can never be wrong.
   */
  private readonly tagIndex = new Map<bigint, PeerState>();
  private readonly sessions = new Map<number, Session>();
  private readonly counters: DataPathStats = emptyDataPathStats();
  private readonly events: DataPathEvent[] = [];
  private readonly timings: { rekeyAfter: number; rejectAfter: number; rekeyTimeout: number };
  private sealedKey: Uint8Array | undefined;
  private handshakeMac1Key: Uint8Array | undefined;
  private relayRate = 0;
  private relayCounter = 0n;
  private flushing = false;
  /** engine.h traffic_watch_: armed by watchTraffic, spent by the next transport moved. */
  private trafficWatch = false;
  private closed = false;
  private readonly buf = new Uint8Array(BATCH * 2048);
  private readonly lens = new Uint32Array(BATCH);
  /** engine.h local_addresses: where a decrypted packet may go; undefined, anywhere. */
  private readonly own: Prefix[] | undefined;

  constructor(
    private readonly tun: TunDevice,
    options: DataPathOptions,
    private readonly onEvents: (events: DataPathEvent[]) => void,
    private readonly machine: SimMachine,
  ) {
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError('options.port must be 0..65535');
    const mtu = options.mtu ?? TUN_MTU;
    if (!(mtu >= 576 && mtu <= 9000)) throw new RangeError('options.mtu must be 576..9000');
    this.own =
      options.addresses === undefined ? undefined : parsePrefixes(options.addresses, 'options.addresses');
    this.timings = {
      rekeyAfter: options.rekeyAfterTimeMs ?? 120_000,
      rejectAfter: options.rejectAfterTimeMs ?? 180_000,
      rekeyTimeout: options.rekeyTimeoutMs ?? 5_000,
    };
    const { net, ip, nat } = machine;
    this.boundPort = port === 0 ? freePort(net, ip, nat) : port;
    if (net.hostAt(ip, this.boundPort, nat))
      throw Object.assign(new Error(`UDP port ${this.boundPort} is taken`), { code: 'EADDRINUSE' });
    this.host = net.addHost(`${machine.name}:${this.boundPort}`, ip, this.boundPort, nat);
    this.host.receive = (bytes, from) => this.receive(Buffer.from(bytes), from);
    tun.onReadable(() => this.readTun());
  }

  get port(): number {
    return this.running().boundPort;
  }

  /** Tests only: the socket on the simulated net (its address changes when the machine moves). */
  get socket(): SimHost {
    return this.host;
  }

  setPeer(
    peer: number,
    allowedIps: string[],
    endpoint?: string | null,
    options?: { forward?: boolean; publicKey?: Uint8Array },
  ): void {
    this.running();
    peerId(peer);
    if (!Array.isArray(allowedIps)) throw new TypeError('allowedIps must be an array of CIDR strings');
    const ep = endpoint === undefined || endpoint === null ? undefined : endpointArg(endpoint);
    const p = this.peers.get(peer) ?? new PeerState(peer);
    p.setRoutes(allowedIps);
    if (ep) p.endpoint = ep;
    if (options?.publicKey) p.publicKey = options.publicKey.slice();
    this.peers.set(peer, p);
  }

  setSealedScreen(key: Uint8Array): void {
    this.running();
    if (key.length !== 32) throw new RangeError('key must be 32 bytes');
    this.sealedKey ??= key.slice();
  }

  setHandshakeScreen(mac1Key: Uint8Array, cookieKey: Uint8Array, _options?: HandshakeScreenOptions): void {
    this.running();
    if (mac1Key.length !== 32 || cookieKey.length !== 32)
      throw new RangeError('mac1Key and cookieKey must be 32 bytes');
    this.handshakeMac1Key ??= mac1Key.slice();
  }

  setEndpoint(peer: number, endpoint: string): void {
    this.running();
    const ep = endpointArg(endpoint);
    const p = this.peers.get(peerId(peer));
    if (p) p.endpoint = ep;
  }

  removePeer(peer: number): void {
    this.running();
    const p = this.peers.get(peerId(peer));
    if (!p) return;
    for (const s of p.sessions()) this.sessions.delete(s.localIndex);
    this.peers.delete(peer);
    for (const other of this.peers.values()) if (other.relayVia === peer) other.relayVia = null;
  }

  installSession(peer: number, session: DataPathSession): void {
    this.running();
    const { localIndex, remoteIndex, initiator, sendKey, receiveKey } = session;
    if (typeof localIndex !== 'number' || typeof remoteIndex !== 'number' || typeof initiator !== 'boolean')
      throw new TypeError('session needs localIndex, remoteIndex (numbers) and initiator (boolean)');
    for (const [k, v] of Object.entries({ sendKey, receiveKey }))
      if (!(v instanceof Uint8Array) || v.length !== 32)
        throw new TypeError(`session.${k} must be a 32-byte Uint8Array`);
    const p = this.peers.get(peerId(peer));
    if (!p) throw new RangeError(`unknown peer ${peer}`);
    const s: Session = {
      peer,
      localIndex,
      remoteIndex,
      sendKey: Buffer.from(sendKey),
      receiveKey: Buffer.from(receiveKey),
      initiator,
      createdAt: performance.now(),
      sendCounter: 0n,
      replay: new ReplayWindow(),
    };
    this.sessions.set(localIndex, s);
    for (const dropped of p.install(s)) this.sessions.delete(dropped.localIndex);
    if (initiator) this.flushStaged(p);
  }

  removeSession(localIndex: number): void {
    this.running();
    const s = this.sessions.get(localIndex);
    if (!s) return;
    this.sessions.delete(localIndex);
    this.peers.get(s.peer)?.forget(s);
  }

  /** The twin's clock is simulated: it says when it sent on the real monotonic clock, as the native one does. */
  sendControl(data: Uint8Array, endpoint: string, _socket?: number, ttl?: number): number {
    this.running();
    const to = endpointArg(endpoint);
    if (data.length === 0 || data.length > 65507) throw new RangeError('data must be 1..65507 bytes');
    if (ttl !== undefined && !(Number.isInteger(ttl) && ttl >= 1 && ttl <= 255)) throw new RangeError('ttl');
    const at = Number(process.hrtime.bigint()) / 1e6;
    this.machine.net.send(this.host, to, data, ttl);
    return at;
  }

  sendControlToPeer(data: Uint8Array, peer: number): boolean {
    this.running();
    controlData(data);
    const p = this.peers.get(peerId(peer));
    return p ? this.transmit(p, data) : false;
  }

  sendControlVia(data: Uint8Array, peer: number, relay: number): boolean {
    this.running();
    controlData(data);
    const p = this.peers.get(peerId(peer));
    const r = this.peers.get(peerId(relay));
    if (!p || !r || p === r) return false;
    return this.wrap(p, r, data);
  }

  sendKeepalive(peer: number): boolean {
    this.running();
    const p = this.peers.get(peerId(peer));
    const s = p && this.usable(p);
    if (!p || !s) return false;
    return this.sendTransport(p, s, new Uint8Array(0));
  }

  setRelayKey(peer: number, secret: Uint8Array, tags: DataPathRelayTags, remoteEpoch: Uint8Array): void {
    this.running();
    peerId(peer);
    if (!(secret instanceof Uint8Array) || secret.length !== 32)
      throw new TypeError('secret must be a 32-byte Uint8Array');
    if (typeof tags !== 'object' || tags === null)
      throw new TypeError('tags must be an object { local, remote }');
    for (const k of ['local', 'remote'] as const)
      if (!(tags[k] instanceof Uint8Array) || tags[k].length !== 8)
        throw new TypeError(`tags.${k} must be an 8-byte Uint8Array`);
    if (!(remoteEpoch instanceof Uint8Array) || remoteEpoch.length !== 16)
      throw new TypeError('remoteEpoch must be a 16-byte Uint8Array');
    const p = this.peers.get(peer);
    if (!p) throw new RangeError(`unknown peer ${peer}`);
    const local = tagValue(tags.local);
    const remote = tagValue(tags.remote);
    if (local === remote) throw new RangeError('the local and remote tags must differ');
    if ([...this.peers.values()].some((o) => o !== p && o.relay?.remoteTag === remote))
      throw new RangeError('another peer has this remote tag');
    const derived = deriveRelayKey(
      secret,
      { tag: local, epoch: this.relayEpoch },
      { tag: remote, epoch: remoteEpoch },
    );
    const same =
      p.relay?.key.equals(derived.key) && p.relay.localTag === local && p.relay.remoteTag === remote;
    if (same) return;
    p.relay = {
      ...derived,
      localTag: local,
      remoteTag: remote,
      remoteEpoch: remoteEpoch.slice(),
      replay: new ReplayWindow(),
      tokens: this.relayRate,
      refilledAt: performance.now(),
    };
  }

  setPeerPath(peer: number, path: DataPathPeerPath): void {
    this.running();
    peerId(peer);
    const shape = 'path must be { direct: endpoint } or { relay: peer }';
    if (typeof path !== 'object' || path === null) throw new TypeError(shape);
    const direct = 'direct' in path ? path.direct : undefined;
    const relay = 'relay' in path ? path.relay : undefined;
    if ((direct === undefined) === (relay === undefined)) throw new TypeError(shape);
    const p = this.peers.get(peer);
    if (direct !== undefined) {
      const ep = canonicalEndpoint(String(direct));
      if (!ep) throw new RangeError(`path.direct "${direct}" is not ADDRESS:PORT or [IPV6]:PORT`);
      if (!p) throw new RangeError(`unknown peer ${peer}`);
      p.endpoint = ep;
      p.relayVia = null;
      return;
    }
    if (typeof relay !== 'number' || !Number.isInteger(relay) || relay < 1 || relay > 0xffffffff)
      throw new RangeError('path.relay must be a peer id');
    if (!p || !this.peers.has(relay) || relay === peer)
      throw new RangeError(`no relay ${relay} for peer ${peer}`);
    p.relayVia = relay;
  }

  setRelayService(enabled: boolean, bytesPerSecondPerSender: number): void {
    this.running();
    if (typeof enabled !== 'boolean') throw new TypeError('enabled must be a boolean');
    const min = enabled ? 1 : 0;
    if (
      !Number.isInteger(bytesPerSecondPerSender) ||
      bytesPerSecondPerSender < min ||
      bytesPerSecondPerSender > 0xffffffff
    )
      throw new RangeError(`bytesPerSecondPerSender must be ${min}..4294967295`);
    this.relayRate = enabled ? bytesPerSecondPerSender : 0;
  }

  peerStats(peer: number): DataPathPeerStats | null {
    this.running();
    return this.peers.get(peerId(peer))?.snapshot(performance.now()) ?? null;
  }

  stats(): DataPathStats {
    this.running();
    return { ...this.counters };
  }

  watchTraffic(): void {
    this.running();
    this.trafficWatch = true;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.tun.stopReading();
    this.tun.close();
    this.machine.net.removeHost(this.host);
    this.events.length = 0;
  }

  // --- send: TUN → peers -------------------------------------------------------------------------

  private readTun(): void {
    if (this.closed) return;
    for (let round = 0; round < 16; round++) {
      const n = this.tun.readBatch(this.buf, this.lens, 2048);
      for (let i = 0; i < n; i++) this.route(this.buf.slice(i * 2048, i * 2048 + this.lens[i]!));
      if (n < BATCH) return;
    }
  }

  private route(packet: Uint8Array): void {
    const dst = destination(packet);
    const p = dst && this.lookup(dst);
    if (!p) {
      this.counters.txNoRoute++;
      return;
    }
    const s = this.usable(p);
    if (!s) {
      this.counters.txStaged++;
      if (!p.stage(packet)) this.counters.txStagedDropped++;
      this.wantHandshake(p);
      return;
    }
    if (s.initiator && performance.now() - s.createdAt >= this.timings.rekeyAfter) this.wantHandshake(p);
    if (this.sendTransport(p, s, packet)) this.noteTraffic();
  }

  private usable(p: PeerState): Session | undefined {
    const s = p.current;
    return s && performance.now() - s.createdAt < this.timings.rejectAfter ? s : undefined;
  }

  private wantHandshake(p: PeerState): void {
    const now = performance.now();
    if (now - p.handshakeWantedAt < this.timings.rekeyTimeout) return;
    p.handshakeWantedAt = now;
    this.emit({ type: 'handshake-needed', peer: p.id });
  }

  private flushStaged(p: PeerState): void {
    const s = this.usable(p);
    if (!s) return;
    const staged = p.takeStaged();
    if (staged.length > 0) this.noteTraffic();
    for (const packet of staged) this.sendTransport(p, s, packet);
  }

  /** engine.h NoteTraffic: the one event an armed watch asked for. */
  private noteTraffic(): void {
    if (!this.trafficWatch) return;
    this.trafficWatch = false;
    this.emit({ type: 'traffic' });
  }

  private sendTransport(p: PeerState, s: Session, packet: Uint8Array): boolean {
    const counter = s.sendCounter++;
    const header = Buffer.alloc(TRANSPORT_HEADER);
    header[0] = TRANSPORT;
    header.writeUInt32LE(s.remoteIndex, 4);
    header.writeBigUInt64LE(counter, 8);
    const cipher = createCipheriv('chacha20-poly1305', s.sendKey, nonceOf(counter), { authTagLength: TAG });
    const datagram = Buffer.concat([header, cipher.update(packet), cipher.final(), cipher.getAuthTag()]);
    if (!this.transmit(p, datagram)) {
      this.counters.txNoEndpoint++;
      return false;
    }
    this.counters.txPackets++;
    p.noteSent(datagram.length, packet.length > 0, performance.now());
    return true;
  }

  /** Along the peer's path: to its endpoint, or in an envelope through its relay. */
  private transmit(p: PeerState, datagram: Uint8Array): boolean {
    if (p.relayVia !== null) {
      const relay = this.peers.get(p.relayVia);
      return relay ? this.wrap(p, relay, datagram) : false;
    }
    if (!p.endpoint) return false;
    this.machine.net.send(this.host, p.endpoint, datagram);
    return true;
  }

  private wrap(p: PeerState, relay: PeerState, datagram: Uint8Array): boolean {
    if (!p.relay || !relay.relay || !relay.endpoint) {
      this.counters.relayDroppedNoPath++;
      return false;
    }
    const envelope = sealEnvelope(TO_RELAY, relay.relay, p.relay.remoteTag, this.relayCounter++, datagram);
    this.counters.relayedOut++;
    if (envelope.length > 1472) this.counters.relayFragmented++;
    this.machine.net.send(this.host, relay.endpoint, envelope);
    return true;
  }

  // --- receive: peers → TUN, and up to JavaScript ------------------------------------------------

  private receive(d: Buffer, from: string): void {
    if (this.closed) return;
    this.counters.rxDatagrams++;
    let via: PeerState | undefined;
    let sender: PeerState | undefined;
    let p = d;
    if (p[0] === ENVELOPE) {
      const hop = this.openEnvelope(p);
      if (!hop) return;
      ({ via, sender } = hop);
      p = p.subarray(ENVELOPE_HEADER);
      if (p[0] === ENVELOPE) {
        this.counters.relayDroppedMalformed++;
        return;
      }
    }
    if (p.length >= 32 && p[0] === TRANSPORT && p[1] === 0 && p[2] === 0 && p[3] === 0) {
      this.receiveTransport(p, from, via, sender);
      return;
    }
    this.receiveControl(p, from, via, sender);
  }

  /** native/src/datapath/relay.cc HandleEnvelope: forwarded (undefined) or opened. */
  private openEnvelope(p: Buffer): { via: PeerState; sender: PeerState } | undefined {
    const c = this.counters;
    if (p.length <= ENVELOPE_HEADER || p[1]! > FROM_RELAY) return void c.relayDroppedMalformed++;
    const toRelay = p[1] === TO_RELAY;
    if (toRelay && this.relayRate === 0) return void c.relayDroppedDisabled++;
    const signer = this.byTag(p.readBigUInt64LE(4));
    const key = signer?.relay;
    if (!signer || !key) return void c.relayDroppedUnknownTag++;
    if (p.readUInt16LE(2) !== key.keyId) return void c.relayDroppedStaleKey++;
    const counter = p.readBigUInt64LE(20);
    if (!key.replay.check(counter)) return void c.relayDroppedReplay++;
    if (!envelopeMacOk(key, p)) return void c.relayDroppedBadMac++;
    key.replay.accept(counter);
    const other = this.byTag(p.readBigUInt64LE(12));
    if (!toRelay) {
      if (!other || other === signer) return void c.relayDroppedUnknownTag++;
      c.relayedIn++;
      return { via: signer, sender: other };
    }
    if (!other?.relay || other === signer) return void c.relayDroppedNotMember++;
    if (!takeToken(key, this.relayRate, p.length + RELAY_CHARGE_OVERHEAD)) return void c.relayDroppedRate++;
    if (!other.endpoint) return void c.relayDroppedNoPath++;
    const out = sealEnvelope(
      FROM_RELAY,
      other.relay,
      key.remoteTag,
      this.relayCounter++,
      p.subarray(ENVELOPE_HEADER),
    );
    c.relayForwarded++;
    this.machine.net.send(this.host, other.endpoint, out);
    return undefined;
  }

  private receiveTransport(p: Buffer, from: string, via?: PeerState, sender?: PeerState): void {
    const c = this.counters;
    c.rxTransport++;
    const s = this.sessions.get(p.readUInt32LE(4));
    if (!s) return void c.rxUnknownIndex++;
    if (via && s.peer !== sender?.id) return void c.relayDroppedWrongSender++;
    const counter = p.readBigUInt64LE(8);
    if (!s.replay.check(counter)) return void c.rxReplay++;
    const now = performance.now();
    if (now - s.createdAt >= this.timings.rejectAfter) return void c.rxExpired++;
    let plain: Buffer;
    try {
      const decipher = createDecipheriv('chacha20-poly1305', s.receiveKey, nonceOf(counter), {
        authTagLength: TAG,
      });
      decipher.setAuthTag(p.subarray(p.length - TAG));
      plain = Buffer.concat([
        decipher.update(p.subarray(TRANSPORT_HEADER, p.length - TAG)),
        decipher.final(),
      ]);
    } catch {
      return void c.rxAuthFailed++;
    }
    s.replay.accept(counter);
    const peer = this.peers.get(s.peer);
    if (!peer) return;
    peer.noteReceived(p.length, now);
    this.noteTraffic();
    if (!via && peer.endpoint !== from) {
      peer.endpoint = from;
      this.emit({ type: 'endpoint-changed', peer: peer.id, endpoint: from });
    }
    const confirmed = peer.confirm(s);
    if (confirmed) {
      if (confirmed.dropped) this.sessions.delete(confirmed.dropped.localIndex);
      this.emit({ type: 'session-confirmed', peer: peer.id, localIndex: s.localIndex });
      this.flushStaged(peer);
    }
    if (plain.length === 0) return void c.rxKeepalive++;
    const src = source(plain);
    if (!src) return void c.rxBadInner++;
    if (this.lookup(src) !== peer) return void c.rxSourceDenied++;
    if (this.own && longestMatch(this.own, destination(plain)!) < 0) return void c.rxDestinationDenied++;
    peer.noteReceivedData(now);
    this.lens[0] = plain.length;
    this.tun.writeBatch(plain, this.lens, plain.length, 1);
  }

  /** admission.h: what goes up to JavaScript, and what is junk or fails its mac1. */
  private receiveControl(p: Buffer, from: string, via?: PeerState, sender?: PeerState): void {
    const c = this.counters;
    const relayed = via !== undefined;
    const type = p[0]!;
    if (!relayed && isStunMessage(p)) {
      // Its own event (engine.cc HandleControl): the node never parses STUN to know what it is.
      c.rxControl++;
      return void this.emit({ type: 'stun', data: Buffer.from(p), from });
    }
    let up = false;
    if (p.length < 4) up = false;
    else if (SIZES[type] !== undefined)
      up = p[1] === 0 && p[2] === 0 && p[3] === 0 && p.length === SIZES[type];
    else if (type === SEALED) up = p.length >= SEALED_MIN && p.length <= SEALED_MAX;
    else if (type === JOIN_QUERY) up = !relayed;
    if (!up) return void c.rxJunk++;
    if ((type === 1 || type === 2) && this.handshakeMac1Key) {
      const at = mac1Offset(type);
      if (!bytesEqual(mac(this.handshakeMac1Key, p.subarray(0, at)), p.subarray(at, at + 16)))
        return void c.rxHandshakeBadMac1++;
    }
    if (type === SEALED && this.sealedKey && !sealedMac1Ok(this.sealedKey, p)) return void c.rxSealedBadMac++;
    c.rxControl++;
    this.emit({
      type: 'control',
      data: Buffer.from(p),
      from,
      ...(via && { via: via.id }),
      ...(sender && { peer: sender.id }),
    });
  }

  private byTag(tag: bigint): PeerState | undefined {
    const hint = this.tagIndex.get(tag);
    if (hint?.relay?.remoteTag === tag && this.peers.get(hint.id) === hint) return hint;
    for (const p of this.peers.values()) {
      if (p.relay?.remoteTag !== tag) continue;
      this.tagIndex.set(tag, p);
      return p;
    }
    this.tagIndex.delete(tag);
    return undefined;
  }

  /** Cryptokey routing: the peer whose allowed IPs hold `address` most specifically. */
  private lookup(address: Uint8Array): PeerState | undefined {
    let best: PeerState | undefined;
    let bestBits = -1;
    for (const p of this.peers.values()) {
      const bits = p.match(address);
      if (bits > bestBits) {
        best = p;
        bestBits = bits;
      }
    }
    return best;
  }

  private emit(e: DataPathEvent): void {
    this.events.push(e);
    if (this.flushing) return;
    this.flushing = true;
    setImmediate(() => {
      this.flushing = false;
      if (this.closed || this.events.length === 0) return;
      this.onEvents(this.events.splice(0));
    });
  }

  private running(): this {
    if (this.closed) throw Object.assign(new Error('datapath: closed'), { code: 'ECLOSED' });
    return this;
  }
}

/** relay.cc TakeRelayToken: `rate` bytes per second, each envelope charged `charge` bytes. */
function takeToken(key: { tokens: number; refilledAt: number }, rate: number, charge: number): boolean {
  const now = performance.now();
  key.tokens = Math.min(rate, key.tokens + ((now - key.refilledAt) * rate) / 1000);
  key.refilledAt = now;
  if (key.tokens < charge) return false;
  key.tokens -= charge;
  return true;
}

function sealedMac1Ok(key: Uint8Array, p: Uint8Array): boolean {
  const at = p.length - 16;
  const expected = createHmac('sha256', key).update(p.subarray(0, at)).digest().subarray(0, 16);
  return bytesEqual(new Uint8Array(expected), p.subarray(at));
}

function nonceOf(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64LE(counter, 4);
  return n;
}

function destination(packet: Uint8Array): Uint8Array | undefined {
  const v = packet[0]! >> 4;
  if (v === 4 && packet.length >= 20) return packet.subarray(16, 20);
  if (v === 6 && packet.length >= 40) return packet.subarray(24, 40);
  return undefined;
}

function source(packet: Uint8Array): Uint8Array | undefined {
  const v = packet[0]! >> 4;
  if (v === 4 && packet.length >= 20) return packet.subarray(12, 16);
  if (v === 6 && packet.length >= 40) return packet.subarray(8, 24);
  return undefined;
}

function peerId(peer: number): number {
  if (typeof peer !== 'number' || !Number.isInteger(peer) || peer < 1 || peer > 0xffffffff)
    throw new RangeError('peer id must be 1..4294967295');
  return peer;
}

function endpointArg(text: string): string {
  const ep = typeof text === 'string' ? canonicalEndpoint(text) : undefined;
  if (!ep) throw new RangeError(`endpoint "${text}" is not ADDRESS:PORT or [IPV6]:PORT`);
  return ep;
}

function controlData(data: Uint8Array): void {
  if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array');
  if (data.length === 0 || data.length > 65507 - ENVELOPE_HEADER)
    throw new RangeError('data must be 1..65463 bytes');
}

function freePort(net: SimNet, ip: string, nat: SimNat | undefined): number {
  for (let port = 40_000; port < 65_536; port++) if (!net.hostAt(ip, port, nat)) return port;
  throw Object.assign(new Error('no free UDP port'), { code: 'EADDRINUSE' });
}
