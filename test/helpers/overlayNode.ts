import { fileURLToPath } from 'node:url';
import { peerId } from '../../core/base/keys.js';
import { generateKeyPair } from '../../core/wireguard/primitives.js';
import { JsonLinesChild } from './jsonLines.js';
import type { Netns } from './netns.js';

const script = fileURLToPath(new URL('../fixtures/tunnel-node.js', import.meta.url));

export interface Keys {
  privateKey: string;
  publicKey: string;
}

export function newKeys(): Keys {
  const k = generateKeyPair();
  return { privateKey: peerId(k.privateKey), publicKey: peerId(k.publicKey) };
}

export interface TunnelNodeConfig {
  privateKey: string;
  listenPort: number;
  addresses: string[];
  mtu?: number;
  timings?: Record<string, number>;
  /** The data path's handshake screen limits (HandshakeScreenOptions), e.g. always under load. */
  handshakeScreen?: Record<string, number>;
  peers: {
    publicKey: string;
    presharedKey?: string;
    endpoint?: { address: string; port: number };
    allowedIps: string[];
    persistentKeepaliveMs?: number;
    forward?: boolean;
  }[];
}

/** Starts test/fixtures/tunnel-node in `ns` and waits until its tunnel is up. */
export async function startTunnelNode(ns: Netns, config: TunnelNodeConfig): Promise<JsonLinesChild> {
  const child = ns.spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const node = new JsonLinesChild(child, `tunnel node in ${ns.name}`);
  node.command(config);
  await node.waitFor('the tunnel to come up', (e) => e.event === 'ready' || e.event === 'error');
  const err = node.events.find((e) => e.event === 'error');
  if (err) throw new Error(`tunnel node failed: ${JSON.stringify(err)}`);
  return node;
}

export interface PingResult {
  transmitted: number;
  received: number;
  rttsMs: number[];
  output: string;
}

/** Runs ping in `ns` (bounded by count and deadline) and parses what it says. */
export interface PingOptions {
  /** seconds between pings (default 0.2) */
  intervalS?: number;
  /** source address (-I) */
  source?: string;
  /** ICMP payload bytes, sent with don't-fragment (-s, -M do) */
  payloadBytes?: number;
  /** IPv4 TTL / IPv6 hop limit (-t) */
  ttl?: number;
  /** seconds to wait for a reply (-W, default 2) */
  waitS?: number;
}

export function ping(ns: Netns, target: string, count: number, options: PingOptions = {}): PingResult {
  let output: string;
  const from = [
    '-i',
    String(options.intervalS ?? 0.2),
    ...(options.source ? ['-I', options.source] : []),
    ...(options.payloadBytes ? ['-s', String(options.payloadBytes), '-M', 'do'] : []),
    ...(options.ttl ? ['-t', String(options.ttl)] : []),
  ];
  try {
    output = ns.exec(
      'ping',
      ['-n', '-c', String(count), '-W', String(options.waitS ?? 2), ...from, target],
      60_000,
    );
  } catch (e) {
    output = String((e as { stdout?: string }).stdout ?? '');
  }
  const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
  const rttsMs = [...output.matchAll(/time=([\d.]+) ms/g)].map((x) => Number(x[1]));
  return { transmitted: Number(m?.[1] ?? 0), received: Number(m?.[2] ?? 0), rttsMs, output };
}

/** Pings `address` from `ns` once at a time until one is answered; how long that took, or throws after `ms`. */
export function firstReplyWithin(ns: Netns, address: string, ms: number): number {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (ping(ns, address, 1, { waitS: 1 }).received === 1) return Date.now() - start;
  }
  throw new Error(`no reply from ${address} within ${ms} ms`);
}
