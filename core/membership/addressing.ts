/**
 * A network's overlay subnets and its members' addresses.
 *
 * IPv4 comes from 100.64.0.0/10, the shared address space of RFC 6598: it is not routed on the
 * internet and rarely used on home or office LANs, which is why Tailscale picked it too. A new
 * network gets a random /16 of it (64 choices), so two networks a person is in seldom collide.
 * IPv6 is a unique local /64 (RFC 4193 §3.1): fd, a 40-bit random global ID (§3.2.2 asks for
 * randomness, not a registry), subnet id 0. A member's IPv6 address is that prefix with its IPv4
 * address in the last 32 bits, so either address tells the other.
 */
import { formatIPv4, formatIPv6, ipv4ToNumber, numberToIPv4, parseIPv4, parseIPv6 } from '../base/ip.js';
import type { RandomSource } from '../wireguard/primitives.js';
import { MembershipError } from './membershipError.js';

export interface IPv4Subnet {
  /** Network address, canonical text: "100.80.0.0". */
  readonly address: string;
  readonly prefix: number;
}

export interface IPv6Subnet {
  /** Network address, canonical RFC 5952 text: "fd12:3456:789a::". */
  readonly address: string;
  readonly prefix: 64;
}

/** RFC 6598 shared address space. */
const SHARED_SPACE = ipv4ToNumber(Uint8Array.of(100, 64, 0, 0));
const SHARED_PREFIX = 10;
/** Shortest prefix a user may pick: the whole shared space. Longest: a /24 still holds 254 members. */
export const MIN_IPV4_PREFIX = SHARED_PREFIX;
export const MAX_IPV4_PREFIX = 24;
export const DEFAULT_IPV4_PREFIX = 16;

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function formatSubnet(subnet: IPv4Subnet | IPv6Subnet): string {
  return `${subnet.address}/${subnet.prefix}`;
}

/** A user's `--subnet`: an IPv4 CIDR inside 100.64.0.0/10, prefix /10../24, host bits zero. */
export function parseIPv4Subnet(text: string): IPv4Subnet {
  const usage = (what: string, hint: string) =>
    new MembershipError('EUSAGE', `subnet ${JSON.stringify(text)} ${what}`, { hint });
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(typeof text === 'string' ? text.trim() : '');
  const bytes = m ? parseIPv4(m[1]!) : undefined;
  if (!m || !bytes) throw usage('is not an IPv4 CIDR', 'write it like 100.80.0.0/16');
  const prefix = Number(m[2]);
  if (prefix < MIN_IPV4_PREFIX || prefix > MAX_IPV4_PREFIX) {
    throw usage(
      `has prefix /${prefix}`,
      `use a prefix from /${MIN_IPV4_PREFIX} (all of 100.64.0.0/10) to /${MAX_IPV4_PREFIX} (254 members)`,
    );
  }
  const value = ipv4ToNumber(bytes);
  if ((value & mask(SHARED_PREFIX)) >>> 0 !== SHARED_SPACE) {
    throw usage(
      'is outside 100.64.0.0/10',
      'overlay addresses come from 100.64.0.0/10 (100.64.x.x to 100.127.x.x), which LANs and the internet do not use',
    );
  }
  if ((value & mask(prefix)) >>> 0 !== value) {
    const base = formatIPv4(numberToIPv4((value & mask(prefix)) >>> 0));
    throw usage('has host bits set', `did you mean ${base}/${prefix}?`);
  }
  return { address: formatIPv4(bytes), prefix };
}

/** A persisted or received IPv6 subnet: a /64 inside fd00::/8 with the host half zero. */
export function parseIPv6Subnet(text: string): IPv6Subnet {
  const bad = () => new MembershipError('EUSAGE', `${JSON.stringify(text)} is not a /64 inside fd00::/8`);
  const m = /^([0-9a-fA-F:]+)\/64$/.exec(typeof text === 'string' ? text : '');
  const bytes = m ? parseIPv6(m[1]!) : undefined;
  if (bytes?.[0] !== 0xfd || bytes.subarray(8).some((b) => b !== 0)) throw bad();
  return { address: formatIPv6(bytes), prefix: 64 };
}

/** Uniform integer in [0, bound) from the random source (rejection sampling, no modulo bias). */
export function randomBelow(bound: number, random: RandomSource): number {
  if (!Number.isInteger(bound) || bound < 1 || bound > 2 ** 32) throw new RangeError(`bad bound ${bound}`);
  const limit = 2 ** 32 - (2 ** 32 % bound);
  for (;;) {
    const b = random(4);
    const x = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    if (x < limit) return x % bound;
  }
}

/** A random /16 of 100.64.0.0/10: 100.64.0.0/16 to 100.127.0.0/16. */
export function randomIPv4Subnet(random: RandomSource): IPv4Subnet {
  return { address: `100.${64 + randomBelow(64, random)}.0.0`, prefix: DEFAULT_IPV4_PREFIX };
}

/** RFC 4193 §3.1: fd00::/8, 40-bit random global ID, 16-bit subnet ID 0. */
export function randomIPv6Subnet(random: RandomSource): IPv6Subnet {
  const bytes = new Uint8Array(16);
  bytes[0] = 0xfd;
  bytes.set(random(5).subarray(0, 5), 1);
  return { address: formatIPv6(bytes), prefix: 64 };
}

export function ipv4InSubnet(address: string, subnet: IPv4Subnet): boolean {
  const a = parseIPv4(address);
  const base = parseIPv4(subnet.address);
  if (!a || !base) return false;
  return (ipv4ToNumber(a) & mask(subnet.prefix)) >>> 0 === ipv4ToNumber(base);
}

export function ipv6InSubnet(address: string, subnet: IPv6Subnet): boolean {
  const a = parseIPv6(address);
  const base = parseIPv6(subnet.address);
  if (!a || !base) return false;
  for (let i = 0; i < 8; i++) if (a[i] !== base[i]) return false;
  return true;
}

/**
 * An address a member may get: inside the subnet, and no last octet 0 or 255 — that excludes the
 * network and broadcast addresses of any prefix and the x.y.0.0 / x.y.255.255 forms that read as
 * special to people and to some old stacks.
 */
export function isAssignableIPv4(address: string, subnet: IPv4Subnet): boolean {
  const a = parseIPv4(address);
  return a !== undefined && ipv4InSubnet(address, subnet) && a[3] !== 0 && a[3] !== 255;
}

/** Where a member's IPv6 address comes from: the /64 prefix, then its IPv4 address. */
export function ipv6ForIPv4(subnet: IPv6Subnet, ipv4: string): string {
  const prefix = parseIPv6(subnet.address);
  const v4 = parseIPv4(ipv4);
  if (!prefix || !v4) throw new MembershipError('EINTERNAL', `cannot derive an IPv6 address from ${ipv4}`);
  prefix.set(v4, 12);
  return formatIPv6(prefix);
}

/** Random draws before falling back to listing every free address (a nearly full subnet). */
const RANDOM_TRIES = 64;

/** A random assignable IPv4 address of the subnet that `taken` does not hold. */
export function allocateIPv4(subnet: IPv4Subnet, taken: ReadonlySet<string>, random: RandomSource): string {
  const base = ipv4ToNumber(parseIPv4(subnet.address)!);
  const size = 2 ** (32 - subnet.prefix);
  const candidate = (host: number): string | undefined => {
    const bytes = numberToIPv4((base + host) >>> 0);
    if (bytes[3] === 0 || bytes[3] === 255) return undefined;
    const text = formatIPv4(bytes);
    return taken.has(text) ? undefined : text;
  };
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const found = candidate(randomBelow(size, random));
    if (found) return found;
  }
  const free: string[] = [];
  for (let host = 0; host < size; host++) {
    const found = candidate(host);
    if (found) free.push(found);
  }
  if (free.length === 0) {
    throw new MembershipError('ESUBNET_FULL', `no free address left in ${formatSubnet(subnet)}`, {
      hint: 'kick members that are gone, or make a network with a larger subnet',
    });
  }
  return free[randomBelow(free.length, random)]!;
}
