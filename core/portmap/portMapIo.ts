/**
 * The narrow interface through which the port mapper reaches the network (DESIGN.md "Layers"):
 * the default route, UDP sockets bound to our address on the router's LAN, and one bounded HTTP
 * request at a time to the router. `nativePortMapIo` is the machine's; tests give a fake router.
 */
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { MAX_HTTP_BODY } from './constants.js';
import { type DefaultRoute, parseDefaultRoute } from './gateway.js';

export interface PortMapSocket {
  /** The address this socket is bound to: ours on the router's LAN. */
  readonly localAddress: string;
  send(data: Uint8Array, address: string, port: number): void;
  close(): void;
}

export interface UdpOpenOptions {
  /** Bind here; undefined: the address the kernel picks to reach `toward`. */
  readonly localAddress?: string;
  /** Picks the local address (a connect-less route lookup) when localAddress is not given. */
  readonly toward?: { address: string; port: number };
  readonly port?: number;
  /** Join this multicast group on our LAN address (PCP/NAT-PMP announcements). */
  readonly joinGroup?: string;
  /** Multicast sends leave through our LAN address only, at this TTL (SSDP). */
  readonly multicastTtl?: number;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: string;
}

export interface PortMapIo {
  defaultRoute(): DefaultRoute | undefined;
  openUdp(
    options: UdpOpenOptions,
    onMessage: (data: Uint8Array, from: { address: string; port: number }) => void,
  ): Promise<PortMapSocket>;
  /** One HTTP request; rejects on timeout, a body over MAX_HTTP_BODY, or a connection error. */
  http(
    url: URL,
    req: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: string; timeoutMs: number },
  ): Promise<HttpAnswer>;
}

export const nativePortMapIo: PortMapIo = {
  defaultRoute() {
    try {
      return parseDefaultRoute(readFileSync('/proc/net/route', 'utf8'));
    } catch {
      return undefined;
    }
  },

  async openUdp(options, onMessage) {
    let localAddress = options.localAddress;
    if (localAddress === undefined && options.toward)
      localAddress = await sourceAddressToward(options.toward);
    const sock = createSocket({ type: 'udp4', reuseAddr: options.joinGroup !== undefined });
    sock.on('message', (msg, rinfo) =>
      onMessage(new Uint8Array(msg), { address: rinfo.address, port: rinfo.port }),
    );
    sock.on('error', () => sock.close());
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      // A group listener binds the wildcard (datagrams to the group are not addressed to us).
      sock.bind(options.port ?? 0, options.joinGroup ? undefined : localAddress, () => {
        sock.off('error', reject);
        resolve();
      });
    });
    if (localAddress === undefined) localAddress = sock.address().address;
    if (options.joinGroup) sock.addMembership(options.joinGroup, localAddress);
    if (options.multicastTtl !== undefined) {
      sock.setMulticastInterface(localAddress);
      sock.setMulticastTTL(options.multicastTtl);
      sock.setMulticastLoopback(false);
    }
    const bound = localAddress;
    return {
      localAddress: bound,
      send: (data, address, port) => sock.send(data, port, address),
      close: () => {
        try {
          sock.close();
        } catch {
          // already closed
        }
      },
    };
  },

  http(url, req) {
    return new Promise((resolve, reject) => {
      const r = request(
        url,
        { method: req.method, headers: req.headers, timeout: req.timeoutMs, agent: false },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_HTTP_BODY) {
              r.destroy(new Error('answer too large'));
              return;
            }
            chunks.push(c);
          });
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
          );
          res.on('error', reject);
        },
      );
      r.on('timeout', () => r.destroy(new Error('timed out')));
      r.on('error', reject);
      // The whole exchange is bounded, not only each idle gap.
      const deadline = setTimeout(() => r.destroy(new Error('timed out')), req.timeoutMs);
      r.on('close', () => clearTimeout(deadline));
      r.end(req.body);
    });
  },
};

/** The source address the kernel would use toward `to` (a UDP connect sends nothing). */
async function sourceAddressToward(to: { address: string; port: number }): Promise<string> {
  const s = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.connect(to.port, to.address, () => resolve());
    });
    return s.address().address;
  } finally {
    s.close();
  }
}
