/**
 * The resolver's sockets: UDP port 53 on the node's overlay addresses, and one socket per
 * forwarded query (its own random port, RFC 5452 §9.2), closed when the forward ends. Everything
 * a datagram means is decided by the Resolver; this file only moves bytes and keeps its timer.
 *
 * Flow: a datagram → Resolver.receive → replies sent from the socket of the client's family,
 * forwards sent from their tickets' sockets → an upstream's datagram on a ticket's socket →
 * Resolver.upstreamAnswer → the reply. The timer runs Resolver.tick when a forward is due.
 *
 * The kernel's receive buffer bounds what waits to be read (its overflow is counted by the kernel,
 * shown as dns.kernelDropped); the resolver's rate limits bound what a datagram read costs beyond
 * Node's own receive path (rateLimit.ts).
 *
 * TCP on the same port (RFC 7766: a resolver must serve it too; a stub falls back to it for an
 * answer that did not fit a datagram): a connection is accepted only from this host or a member
 * (Resolver.accepts), at most MAX_TCP_CLIENTS at once, closed after TCP_IDLE_MS without a query;
 * each framed message (tcpFrames.ts) goes through the same Resolver.receive as a datagram, rate
 * limits included, and its reply goes back on its connection. A reply finds its connection by
 * the client endpoint object the query was given with, which the resolver hands back unchanged.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Endpoint } from '../base/endpoint.js';
import { kernelDrops } from './kernelDrops.js';
import type { Resolver, ResolverStep } from './resolver.js';
import { framed, TcpFrames } from './tcpFrames.js';

export const DNS_PORT = 53;
/**
 * The listening sockets' kernel queue (SO_RCVBUF, capped by net.core.rmem_max): the bounded queue
 * in front of the resolver. Deep enough to ride out the node's pauses under a flood (about 1,000
 * small datagrams, tens of ms), so a member's query among the flood's is seldom the one dropped.
 */
const RECEIVE_BUFFER_BYTES = 1 << 20;
/** TCP connections served at once; more are closed at once (each holds up to one 64 KB message). */
export const MAX_TCP_CLIENTS = 64;
/** A TCP connection without a query for this long is closed (RFC 7766 §6.2.3: seconds, not minutes). */
export const TCP_IDLE_MS = 10_000;

export interface DnsServerOptions {
  resolver: Resolver;
  /** The overlay IPv4 address: the resolver's address (it must bind). */
  ipv4: string;
  /** The overlay IPv6 address: served too when it binds. */
  ipv6?: string;
  log: (line: string) => void;
  /** Tests only: another port than 53. */
  port?: number;
}

export class DnsServer {
  private readonly sockets = new Map<4 | 6, dgram.Socket>();
  private readonly listeners: net.Server[] = [];
  private readonly connections = new Set<net.Socket>();
  /** The connection of each TCP query waiting for its reply, by the endpoint object it was asked with. */
  private readonly tcpQueries = new Map<Endpoint, net.Socket>();
  /** TCP connections closed at once: from a stranger, or beyond MAX_TCP_CLIENTS; and bad framing. */
  tcpRefused = 0;
  private readonly tickets = new Map<number, dgram.Socket>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Events the resolver threw on (a bug): logged once, counted in `dns.faults`. */
  faults = 0;

  private constructor(private readonly options: DnsServerOptions) {}

  /** Binds port 53 on the overlay addresses; rejects when the IPv4 one cannot be bound. */
  static async start(options: DnsServerOptions): Promise<DnsServer> {
    const server = new DnsServer(options);
    const port = options.port ?? DNS_PORT;
    try {
      server.sockets.set(4, await server.listen('udp4', options.ipv4, port));
    } catch (e) {
      server.stop();
      throw e;
    }
    if (options.ipv6) {
      try {
        server.sockets.set(6, await server.listen('udp6', options.ipv6, port));
      } catch (e) {
        options.log(`names: not serving on [${options.ipv6}]:${port}: ${(e as Error).message}`);
      }
    }
    for (const address of [options.ipv4, ...(options.ipv6 ? [options.ipv6] : [])]) {
      try {
        server.listeners.push(await server.listenTcp(address, port));
      } catch (e) {
        options.log(`names: not serving TCP on ${address}:${port}: ${(e as Error).message}`);
      }
    }
    return server;
  }

  /** Where clients reach it: the IPv4 address. */
  get address(): string {
    return this.options.ipv4;
  }

  /** Datagrams the kernel dropped because the listening sockets' queues were full. */
  kernelDropped(): number {
    const port = this.options.port ?? DNS_PORT;
    let total = 0;
    for (const [family, address] of [
      [4, this.options.ipv4],
      [6, this.options.ipv6],
    ] as const) {
      if (address && this.sockets.has(family)) total += kernelDrops(address, port) ?? 0;
    }
    return total;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const ticket of this.options.resolver.stop()) this.closeTicket(ticket);
    for (const socket of this.tickets.values()) socket.close();
    this.tickets.clear();
    for (const socket of this.sockets.values()) socket.close();
    this.sockets.clear();
    for (const listener of this.listeners) listener.close();
    for (const connection of this.connections) connection.destroy();
    this.connections.clear();
    this.tcpQueries.clear();
  }

  private listenTcp(address: string, port: number): Promise<net.Server> {
    return new Promise((resolve, reject) => {
      const listener = net.createServer((c) => this.accept(c));
      listener.once('error', reject);
      listener.listen({ host: address, port, ipv6Only: address.includes(':') }, () => {
        listener.off('error', reject);
        listener.on('error', (e) => this.options.log(`names: TCP error: ${e.message}`));
        resolve(listener);
      });
    });
  }

  private accept(c: net.Socket): void {
    const address = unmapped(c.remoteAddress ?? '');
    if (this.stopped || this.connections.size >= MAX_TCP_CLIENTS || !this.options.resolver.accepts(address)) {
      this.tcpRefused++;
      c.destroy();
      return;
    }
    this.connections.add(c);
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on('error', () => {});
    c.on('close', () => {
      this.connections.delete(c);
      for (const [client, socket] of this.tcpQueries) if (socket === c) this.tcpQueries.delete(client);
    });
    const frames = new TcpFrames();
    c.on('data', (chunk) => {
      const messages = frames.push(chunk);
      if (messages === 'bad') {
        this.tcpRefused++;
        c.destroy();
        return;
      }
      for (const message of messages) {
        const from: Endpoint = { address, port: c.remotePort ?? 0 };
        this.tcpQueries.set(from, c);
        const step = this.guarded(() => this.options.resolver.receive(message, from, Date.now()));
        // Answered (apply took it), forwarded (its answer comes later) or dropped (nothing will).
        if (step?.forwards.length === 0) this.tcpQueries.delete(from);
      }
    });
  }

  private listen(type: 'udp4' | 'udp6', address: string, port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({
        type,
        ipv6Only: type === 'udp6',
        recvBufferSize: RECEIVE_BUFFER_BYTES,
      });
      const failed = (e: Error) => {
        socket.close();
        reject(e);
      };
      socket.once('error', failed);
      socket.on('message', (msg, rinfo) => {
        if (this.stopped) return;
        const from = { address: unmapped(rinfo.address), port: rinfo.port };
        this.guarded(() => this.options.resolver.receive(msg, from, Date.now()));
      });
      socket.bind(port, address, () => {
        socket.off('error', failed);
        socket.on('error', (e) => this.options.log(`names: socket error: ${e.message}`));
        resolve(socket);
      });
    });
  }

  /**
   * One event through the resolver. The resolver never throws on what arrives (its tests feed it
   * any bytes); should a bug make it, the datagram is lost and the node keeps running.
   */
  private guarded(event: () => ResolverStep): ResolverStep | undefined {
    let step: ResolverStep;
    try {
      step = event();
    } catch (e) {
      this.faults++;
      if (this.faults === 1)
        this.options.log(`names: a datagram made the resolver fail: ${(e as Error).stack}`);
      return undefined;
    }
    this.apply(step);
    return step;
  }

  private apply(step: ResolverStep): void {
    for (const { to, bytes } of step.replies) {
      const connection = this.tcpQueries.get(to);
      if (connection) {
        this.tcpQueries.delete(to);
        if (!connection.destroyed) connection.write(framed(bytes));
        continue;
      }
      const socket = this.sockets.get(to.address.includes(':') ? 6 : 4);
      socket?.send(bytes, to.port, to.address, ignoreSendError);
    }
    for (const f of step.forwards) {
      this.socketFor(f.ticket, f.to).send(f.bytes, f.to.port, f.to.address, ignoreSendError);
    }
    for (const ticket of step.closed) this.closeTicket(ticket);
    // Only forwards move the timer: a dropped or answered query costs no timer work.
    if (step.forwards.length > 0 || step.closed.length > 0) this.schedule();
  }

  private socketFor(ticket: number, to: Endpoint): dgram.Socket {
    const open = this.tickets.get(ticket);
    if (open) return open;
    const socket = dgram.createSocket(to.address.includes(':') ? 'udp6' : 'udp4');
    socket.on('message', (msg, rinfo) => {
      if (this.stopped) return;
      const from = { address: unmapped(rinfo.address), port: rinfo.port };
      this.guarded(() => this.options.resolver.upstreamAnswer(ticket, msg, from));
    });
    // An upstream that refuses (ICMP port unreachable) shows as an error here: its forward
    // waits for the next upstream or its timeout, as if no answer had come.
    socket.on('error', () => {});
    this.tickets.set(ticket, socket);
    return socket;
  }

  private closeTicket(ticket: number): void {
    const socket = this.tickets.get(ticket);
    if (!socket) return;
    this.tickets.delete(ticket);
    socket.close();
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const at = this.options.resolver.nextWakeAt();
    if (at === null || this.stopped) return;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        if (this.stopped) return;
        this.guarded(() => this.options.resolver.tick(Date.now()));
        this.schedule();
      },
      Math.max(0, at - Date.now()),
    );
  }
}

/** An IPv4 client seen through an IPv6 socket, as its IPv4 address. */
function unmapped(address: string): string {
  return address.replace(/^::ffff:(?=[\d.]+$)/, '');
}

function ignoreSendError(): void {
  // A reply or forward that cannot be sent is lost as a datagram would be; the client asks again.
}
