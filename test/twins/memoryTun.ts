/**
 * The TUN device's in-memory twin (core/tunnel/io.ts TunDevice): what the node configures on it is
 * recorded (MTU, up, addresses, per-route MTUs), and packets pass in the same batch shape as the
 * native Tun. `inject` plays the host's network stack sending a packet into the overlay; what the
 * data path writes (packets from peers) lands in `delivered`.
 */
import type { TunDevice } from '../../core/tunnel/io.js';

/** Packets the host may queue before the device drops (the kernel's txqueuelen is 500). */
const QUEUE_LIMIT = 500;

let nextIndex = 0;

export class MemoryTun implements TunDevice {
  readonly name: string;
  mtu = 1500;
  isUp = false;
  readonly addresses: string[] = [];
  /** Route MTUs the node set (setRouteMtu), by prefix. */
  readonly routeMtus = new Map<string, number>();
  /** Packets the data path wrote to the host, in order. */
  readonly delivered: Uint8Array[] = [];
  closed = false;
  private readonly queue: Uint8Array[] = [];
  private readable: ((error?: Error) => void) | undefined;
  private announced = false;

  constructor(name = 'ovl%d') {
    this.name = name.replace('%d', String(nextIndex++));
  }

  setMtu(mtu: number): void {
    this.check();
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw tunError('EINVAL', `bad MTU ${mtu}`);
    this.mtu = mtu;
  }

  up(): void {
    this.check();
    this.isUp = true;
  }

  addAddress(cidr: string): void {
    this.check();
    if (this.addresses.includes(cidr)) throw tunError('ETUN', `${cidr} is already on ${this.name}`);
    this.addresses.push(cidr);
  }

  setRouteMtu(prefix: string, mtu: number | null): void {
    this.check();
    if (mtu === null) this.routeMtus.delete(prefix);
    else this.routeMtus.set(prefix, mtu);
  }

  /** The host's stack sends `packet` (an IPv4 or IPv6 packet) into the overlay interface. */
  inject(packet: Uint8Array): boolean {
    if (this.closed || !this.isUp || this.queue.length >= QUEUE_LIMIT) return false;
    this.queue.push(packet.slice());
    this.announce();
    return true;
  }

  readBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, maxPackets?: number): number {
    this.check();
    const room = Math.min(lens.length, Math.floor(buf.length / slotSize), maxPackets ?? lens.length);
    let n = 0;
    while (n < room && this.queue.length > 0) {
      const p = this.queue.shift()!;
      const len = Math.min(p.length, slotSize);
      buf.set(p.subarray(0, len), n * slotSize);
      lens[n++] = len;
    }
    return n;
  }

  writeBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, count: number): number {
    this.check();
    for (let i = 0; i < count; i++) this.delivered.push(buf.slice(i * slotSize, i * slotSize + lens[i]!));
    return count;
  }

  onReadable(callback: (error?: Error) => void): void {
    this.check();
    this.readable = callback;
    this.announce();
  }

  stopReading(): void {
    this.readable = undefined;
  }

  close(): void {
    this.closed = true;
    this.readable = undefined;
    this.queue.length = 0;
  }

  /** Level-triggered, like the native epoll watch: announced on a later turn while packets wait. */
  private announce(): void {
    if (this.announced || !this.readable || this.queue.length === 0) return;
    this.announced = true;
    setImmediate(() => {
      this.announced = false;
      this.readable?.();
      this.announce();
    });
  }

  private check(): void {
    if (this.closed) throw tunError('ETUN', `${this.name} is closed`);
  }
}

function tunError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code, device: 'memory' });
}
