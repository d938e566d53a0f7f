/**
 * What a second network on a host must not share with the first (issue 14): its IPv4 range (no
 * overlap with another network's or with any route the host already has, or packets for one would
 * go to the other), its UDP port and its interface name. Pure choices over the host's facts
 * (readHostFacts reads them from /proc and /sys), so the choices are tested without root.
 */
import fs from 'node:fs';
import { formatIPv4, ipv4ToNumber, numberToIPv4, parseIPv4 } from '../base/ip.js';
import { OverlayError } from '../errors.js';
import { DEFAULT_IPV4_PREFIX, formatSubnet, type IPv4Subnet, randomBelow } from '../membership/addressing.js';
import type { RandomSource } from '../wireguard/primitives.js';
import type { HostNetwork } from './networks.js';
import { DEFAULT_LISTEN_PORT } from './nodeState.js';

/** An IPv4 route of the host's main table (/proc/net/route). */
export interface HostRoute {
  subnet: IPv4Subnet;
  device: string;
}

/** What the host already uses. */
export interface HostFacts {
  routes: readonly HostRoute[];
  /** UDP ports bound now, IPv4 or IPv6. */
  udpPorts: ReadonlySet<number>;
  /** Network interfaces that exist now. */
  links: ReadonlySet<string>;
}

/** Longest interface name the kernel takes (IFNAMSIZ 16, with its NUL). */
const MAX_IFNAME = 15;
/** How far above the default port a new network looks for a free one. */
const PORT_SEARCH = 100;

function span(s: IPv4Subnet): { first: number; last: number } {
  const first = ipv4ToNumber(parseIPv4(s.address)!);
  return { first, last: first + 2 ** (32 - s.prefix) - 1 };
}

function overlaps(a: IPv4Subnet, b: IPv4Subnet): boolean {
  const x = span(a);
  const y = span(b);
  return x.first <= y.last && y.first <= x.last;
}

/** What a range clashes with: in words, and the other network's name when it is one. */
export interface Clash {
  what: string;
  network?: string;
}

/**
 * What `subnet` clashes with on this host, or undefined: another network's range, or a
 * route (the default route excepted: a more specific one wins over it). Routes through the
 * interface of a network of this host are that network's, named as the network.
 */
export function subnetClash(
  subnet: IPv4Subnet,
  others: readonly HostNetwork[],
  routes: readonly HostRoute[],
): Clash | undefined {
  for (const n of others) {
    const theirs = n.settings?.network.ipv4Subnet;
    if (theirs && overlaps(subnet, theirs)) {
      return { what: `the network ${n.name}'s ${formatSubnet(theirs)}`, network: n.name };
    }
  }
  for (const r of routes) {
    if (r.subnet.prefix > 0 && overlaps(subnet, r.subnet)) {
      return { what: `the route to ${formatSubnet(r.subnet)} on ${r.device}` };
    }
  }
  return undefined;
}

/** A random /16 of 100.64.0.0/10 that clashes with nothing here; refused when none is left. */
export function pickSubnet(
  others: readonly HostNetwork[],
  routes: readonly HostRoute[],
  random: RandomSource,
): IPv4Subnet {
  const free: IPv4Subnet[] = [];
  for (let second = 64; second < 128; second++) {
    const s = { address: `100.${second}.0.0`, prefix: DEFAULT_IPV4_PREFIX };
    if (subnetClash(s, others, routes) === undefined) free.push(s);
  }
  if (free.length === 0) {
    throw new OverlayError(
      'EUSAGE',
      'every /16 of 100.64.0.0/10 is taken by a network or route of this host',
      {
        hint: 'give a smaller free range with --subnet (e.g. a /24)',
      },
    );
  }
  return free[randomBelow(free.length, random)]!;
}

/** The refusal of a range that clashes, for init --subnet and join: one line, with the fix. */
export function subnetClashError(
  subnet: IPv4Subnet,
  clash: Clash,
  fix: string,
  whose?: string,
): OverlayError {
  const range = whose === undefined ? formatSubnet(subnet) : `${whose}'s range ${formatSubnet(subnet)}`;
  return new OverlayError('ESUBNET_CLASH', `${range} overlaps ${clash.what} on this host`, {
    hint: fix,
  });
}

/**
 * The UDP port of a new network: the default, or the first above it that no network of this host
 * remembers and nothing binds now.
 */
export function pickListenPort(others: readonly HostNetwork[], udpPorts: ReadonlySet<number>): number {
  const taken = new Set(others.map((n) => n.settings?.listenPort));
  for (let port = DEFAULT_LISTEN_PORT; port <= DEFAULT_LISTEN_PORT + PORT_SEARCH; port++) {
    if (!taken.has(port) && !udpPorts.has(port)) return port;
  }
  throw new OverlayError(
    'EUSAGE',
    `no free UDP port from ${DEFAULT_LISTEN_PORT} to ${DEFAULT_LISTEN_PORT + PORT_SEARCH}`,
    {
      hint: 'give one with --listen PORT',
    },
  );
}

/**
 * The interface of a network after the first: `ovl-NAME` (cut to the kernel's 15 bytes), or with
 * a number when another network or link holds that. The first network keeps the kernel's `ovlN`,
 * a form this one never takes.
 */
export function pickInterface(
  name: string,
  others: readonly HostNetwork[],
  links: ReadonlySet<string>,
): string {
  const taken = new Set([
    ...links,
    ...others.flatMap((n) => (n.settings?.interface ? [n.settings.interface] : [])),
  ]);
  const plain = `ovl-${name}`.slice(0, MAX_IFNAME);
  if (!taken.has(plain)) return plain;
  for (let i = 2; i < 100; i++) {
    const numbered = `${`ovl-${name}`.slice(0, MAX_IFNAME - String(i).length)}${i}`;
    if (!taken.has(numbered)) return numbered;
  }
  throw new OverlayError('EBUSY', `no free interface name for the network ${name}`);
}

/** /proc/net/route's hex words are the kernel's bytes in host order (little-endian here). */
function hexAddress(hex: string): number {
  const v = Number.parseInt(hex, 16) >>> 0;
  return ipv4ToNumber(Uint8Array.of(v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24));
}

function prefixOf(mask: number): number {
  let n = 0;
  for (let m = mask >>> 0; m & 0x80000000; m = (m << 1) >>> 0) n++;
  return n;
}

/** The routes of /proc/net/route's text. */
export function parseRoutes(text: string): HostRoute[] {
  const out: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8 || !/^[0-9A-Fa-f]{8}$/.test(f[1]!) || !/^[0-9A-Fa-f]{8}$/.test(f[7]!)) continue;
    const prefix = prefixOf(hexAddress(f[7]!));
    const address = formatIPv4(numberToIPv4(hexAddress(f[1]!)));
    out.push({ subnet: { address, prefix }, device: f[0]! });
  }
  return out;
}

/** The local ports of /proc/net/udp or udp6's text. */
export function parseUdpPorts(text: string): number[] {
  const out: number[] = [];
  for (const line of text.split('\n').slice(1)) {
    const local = line.trim().split(/\s+/)[1];
    const port = local?.split(':')[1];
    if (port && /^[0-9A-Fa-f]{4}$/.test(port)) out.push(Number.parseInt(port, 16));
  }
  return out;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** This host's routes, bound UDP ports and links, as this process's network namespace sees them. */
export function readHostFacts(): HostFacts {
  let links: string[] = [];
  try {
    links = fs.readdirSync('/sys/class/net');
  } catch {
    // no sysfs: nothing known to avoid
  }
  return {
    routes: parseRoutes(readOr('/proc/net/route')),
    udpPorts: new Set([
      ...parseUdpPorts(readOr('/proc/net/udp')),
      ...parseUdpPorts(readOr('/proc/net/udp6')),
    ]),
    links: new Set(links),
  };
}
