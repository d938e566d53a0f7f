/**
 * A simulated network for WireGuard devices: a virtual clock, instant (or filtered) delivery of
 * datagrams between devices, and a seeded random source so every run is the same.
 */
import type { Endpoint } from '../../core/base/endpoint.js';
import { Device, type DeviceOptions } from '../../core/wireguard/device.js';
import type { Output, SessionChange } from '../../core/wireguard/peer.js';
import { generateKeyPair, type KeyPair, type RandomSource } from '../../core/wireguard/primitives.js';

/** mulberry32: a tiny deterministic PRNG, good enough for test keys, indices and jitter. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 15), z | 1);
      z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
      out[i] = ((z ^ (z >>> 14)) >>> 0) & 0xff;
    }
    return out;
  };
}

export interface Datagram {
  readonly from: string;
  readonly to: string;
  readonly bytes: Uint8Array;
  readonly at: number;
}

export class SimNode {
  readonly delivered: Uint8Array[] = [];
  readonly sessions: SessionChange[] = [];
  readonly dropped: string[] = [];
  constructor(
    readonly name: string,
    readonly device: Device,
    readonly keys: KeyPair,
    readonly endpoint: Endpoint,
  ) {}
}

/** Epoch for the simulated wall clock (TAI64N timestamps); any fixed instant works. */
const WALL_EPOCH = Date.UTC(2025, 0, 1);

export class Sim {
  now = 0;
  readonly nodes = new Map<string, SimNode>();
  /** Every datagram put on the wire, delivered or not. */
  readonly wire: Datagram[] = [];
  /** Return false to lose a datagram. */
  pass: (d: Datagram) => boolean = () => true;
  private readonly pending: Datagram[] = [];
  private readonly random: RandomSource;

  constructor(seed = 1) {
    this.random = seededRandom(seed);
  }

  addNode(name: string, options: Omit<DeviceOptions, 'privateKey'> = {}): SimNode {
    const keys = generateKeyPair(this.random);
    const device = new Device({
      random: this.random,
      wallClock: () => WALL_EPOCH + this.now,
      ...options,
      privateKey: keys.privateKey,
    });
    const node = new SimNode(name, device, keys, { address: `192.0.2.${this.nodes.size + 1}`, port: 51820 });
    this.nodes.set(name, node);
    return node;
  }

  /** Makes a and b peers of each other, each knowing the other's endpoint. */
  connect(
    a: SimNode,
    b: SimNode,
    extra: { presharedKey?: Uint8Array; persistentKeepaliveMs?: number } = {},
  ): void {
    a.device.addPeer({ publicKey: b.keys.publicKey, endpoint: b.endpoint, ...extra }, this.now);
    b.device.addPeer({ publicKey: a.keys.publicKey, endpoint: a.endpoint, ...extra }, this.now);
  }

  node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node ${name}`);
    return n;
  }

  /** Records an Output of `node` and queues its datagrams. */
  apply(node: SimNode, out: Output): void {
    for (const d of out.delivered) node.delivered.push(d.packet);
    node.sessions.push(...out.sessions);
    node.dropped.push(...out.dropped);
    for (const t of out.transmit) {
      const to = [...this.nodes.values()].find((n) => n.endpoint.address === t.to.address);
      const d = { from: node.name, to: to?.name ?? t.to.address, bytes: t.bytes, at: this.now };
      this.wire.push(d);
      if (to && this.pass(d)) this.pending.push(d);
    }
  }

  send(from: SimNode, to: SimNode, packet: Uint8Array): void {
    this.apply(from, from.device.send(to.keys.publicKey, packet, this.now));
    this.flush();
  }

  /** Delivers queued datagrams (zero latency) until the network is quiet. */
  flush(): void {
    for (let guard = 0; this.pending.length > 0; guard++) {
      if (guard > 10_000) throw new Error('simulated network did not settle');
      const d = this.pending.shift()!;
      const from = this.node(d.from);
      const to = this.node(d.to);
      this.apply(to, to.device.receive(d.bytes, from.endpoint, this.now));
    }
  }

  /** Moves the clock forward by `ms`, firing every timer on the way at its own instant. */
  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      let next: number | undefined;
      for (const n of this.nodes.values()) {
        const at = n.device.nextWakeAt();
        if (at !== undefined && at <= until && (next === undefined || at < next)) next = at;
      }
      if (next === undefined) break;
      this.now = Math.max(this.now, next);
      for (const n of this.nodes.values()) this.apply(n, n.device.tick(this.now));
      this.flush();
    }
    this.now = until;
  }

  /** Datagrams of a WireGuard message type sent by `from`, in order. */
  sent(from: string, type: number): Datagram[] {
    return this.wire.filter((d) => d.from === from && d.bytes[0] === type);
  }
}

export const MESSAGE = { initiation: 1, response: 2, cookieReply: 3, transport: 4 } as const;
