/**
 * One peer of the memory data path: its allowed IPs, endpoint or relay, sessions (current,
 * previous, and next: a responder's, until its first packet confirms it, whitepaper §5.4.5),
 * packets staged while no session exists, and the counters peerStats reports.
 */
import { DataPath, type DataPathPeerStats, type DataPathStats } from 'tun-napi';
import { parseIPv4, parseIPv6 } from '../../core/base/ip.js';
import type { RelayKey, ReplayWindow } from './memoryRelay.js';

export interface Session {
  readonly peer: number;
  readonly localIndex: number;
  readonly remoteIndex: number;
  readonly sendKey: Buffer;
  readonly receiveKey: Buffer;
  readonly initiator: boolean;
  readonly createdAt: number;
  sendCounter: bigint;
  readonly replay: ReplayWindow;
}

/** Packets a peer may have waiting for a session (the native staging queue's bound). */
const STAGED_LIMIT = 128;

export class PeerState {
  endpoint: string | undefined;
  publicKey: Uint8Array | undefined;
  relayVia: number | null = null;
  relay: RelayKey | undefined;
  current: Session | undefined;
  previous: Session | undefined;
  next: Session | undefined;
  handshakeWantedAt = Number.NEGATIVE_INFINITY;
  private routes: Prefix[] = [];
  private staged: Uint8Array[] = [];
  private rxBytes = 0;
  private rxPackets = 0;
  private txBytes = 0;
  private txPackets = 0;
  private lastRx: number | undefined;
  private lastRxData: number | undefined;
  private lastTx: number | undefined;
  private lastTxData: number | undefined;

  constructor(readonly id: number) {}

  setRoutes(cidrs: string[]): void {
    this.routes = parsePrefixes(cidrs, 'allowedIps');
  }

  /** The length of this peer's longest prefix holding `address`, -1 if none does. */
  match(address: Uint8Array): number {
    return longestMatch(this.routes, address);
  }

  sessions(): Session[] {
    return [this.current, this.previous, this.next].filter((s) => s !== undefined);
  }

  /** A new session: an initiator's sends at once, a responder's waits. Returns the ones it pushed out. */
  install(s: Session): Session[] {
    const out: Session[] = [];
    if (s.initiator) {
      if (this.previous) out.push(this.previous);
      this.previous = this.current;
      this.current = s;
    } else {
      if (this.next) out.push(this.next);
      this.next = s;
    }
    return out;
  }

  /** A packet arrived on `s`: if it was the next session, it is current now. Returns the dropped one. */
  confirm(s: Session): { dropped: Session | undefined } | undefined {
    if (s !== this.next) return undefined;
    const dropped = this.previous;
    this.previous = this.current;
    this.current = s;
    this.next = undefined;
    return { dropped };
  }

  forget(s: Session): void {
    if (this.current === s) this.current = undefined;
    if (this.previous === s) this.previous = undefined;
    if (this.next === s) this.next = undefined;
  }

  stage(packet: Uint8Array): boolean {
    if (this.staged.length >= STAGED_LIMIT) return false;
    this.staged.push(packet);
    return true;
  }

  takeStaged(): Uint8Array[] {
    return this.staged.splice(0);
  }

  noteSent(bytes: number, data: boolean, now: number): void {
    this.txBytes += bytes;
    this.txPackets++;
    this.lastTx = now;
    if (data) this.lastTxData = now;
  }

  noteReceived(bytes: number, now: number): void {
    this.rxBytes += bytes;
    this.rxPackets++;
    this.lastRx = now;
  }

  noteReceivedData(now: number): void {
    this.lastRxData = now;
  }

  snapshot(now: number): DataPathPeerStats {
    const age = (t: number | undefined) => (t === undefined ? null : now - t);
    return {
      rxBytes: this.rxBytes,
      rxPackets: this.rxPackets,
      txBytes: this.txBytes,
      txPackets: this.txPackets,
      lastRxAgeMs: age(this.lastRx),
      lastRxDataAgeMs: age(this.lastRxData),
      lastTxAgeMs: age(this.lastTx),
      lastTxDataAgeMs: age(this.lastTxData),
      endpoint: this.endpoint ?? null,
      currentIndex: this.current?.localIndex ?? null,
      previousIndex: this.previous?.localIndex ?? null,
      nextIndex: this.next?.localIndex ?? null,
      currentAgeMs: this.current ? now - this.current.createdAt : null,
      staged: this.staged.length,
      relayVia: this.relayVia,
      relayKey: this.relay !== undefined,
    };
  }
}

export interface Prefix {
  bytes: Uint8Array;
  bits: number;
}

/** CIDR text as the native data path takes it (ip_prefix.cc), or the same errors. */
export function parsePrefixes(cidrs: unknown, what: string): Prefix[] {
  if (!Array.isArray(cidrs)) throw new TypeError(`${what} must be an array of CIDR strings`);
  return cidrs.map((c: unknown) => {
    if (typeof c !== 'string') throw new TypeError(`${what} must be an array of CIDR strings`);
    const [address = '', bitsText = ''] = c.split('/');
    const bytes = address.includes(':') ? parseIPv6(address) : parseIPv4(address);
    const bits = /^\d{1,3}$/.test(bitsText) ? Number(bitsText) : -1;
    if (!bytes || bits < 0 || bits > bytes.length * 8) throw new RangeError(`"${c}" is not a CIDR prefix`);
    return { bytes, bits };
  });
}

/** The length of the longest of `prefixes` holding `address`, -1 if none does. */
export function longestMatch(prefixes: readonly Prefix[], address: Uint8Array): number {
  let best = -1;
  for (const r of prefixes) {
    if (r.bytes.length !== address.length || r.bits <= best) continue;
    if (prefixHolds(r.bytes, r.bits, address)) best = r.bits;
  }
  return best;
}

function prefixHolds(prefix: Uint8Array, bits: number, address: Uint8Array): boolean {
  for (let i = 0; i < bits; i += 8) {
    const take = Math.min(8, bits - i);
    const mask = (0xff << (8 - take)) & 0xff;
    if ((prefix[i / 8]! & mask) !== (address[i / 8]! & mask)) return false;
  }
  return true;
}

/** Every counter the native data path keeps (engine_counters.h), at zero. */
export function emptyDataPathStats(): DataPathStats {
  return Object.fromEntries(DataPath.counterNames.map((name) => [name, 0])) as unknown as DataPathStats;
}
