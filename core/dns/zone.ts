/**
 * The names a node answers for: its network's zone `NETWORK.internal` (`.internal` is the
 * top-level domain ICANN reserved for private use in 2024, never to be delegated) with one name per member, and the reverse
 * names (RFC 1035 §3.5 in-addr.arpa, RFC 3596 §2.5 ip6.arpa) of the members' addresses. The table is
 * a snapshot of the roster, rebuilt whenever gossip changes it, so a lookup costs two map reads.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../base/ip.js';
import { type IPv4Subnet, type IPv6Subnet, ipv4InSubnet, ipv6InSubnet } from '../membership/addressing.js';

/** The private-use top-level domain: no name under it exists on the internet. */
export const PRIVATE_TLD = 'internal';

/** The DNS zone of a network: `NETWORK.internal`. */
export function zoneOf(networkName: string): string {
  return `${networkName}.${PRIVATE_TLD}`;
}

/** What the resolver knows of one member (certificate kind `member` or `wireguard` alike). */
export interface NamedMember {
  readonly name: string;
  readonly ipv4: string;
  readonly ipv6: string;
}

/** A snapshot of the members' names and addresses, by name and by canonical address text. */
export class NameTable {
  private readonly byName = new Map<string, NamedMember>();
  private readonly byAddress = new Map<string, NamedMember>();

  constructor(
    /** The zone, lowercase, without a trailing dot: `home.internal`. */
    readonly zone: string,
    readonly ipv4Subnet: IPv4Subnet,
    readonly ipv6Subnet: IPv6Subnet,
    members: Iterable<NamedMember>,
  ) {
    for (const m of members) {
      this.byName.set(m.name, m);
      this.byAddress.set(m.ipv4, m);
      this.byAddress.set(m.ipv6, m);
    }
  }

  get size(): number {
    return this.byName.size;
  }

  /** By the member's name (one lowercase label). */
  member(name: string): NamedMember | undefined {
    return this.byName.get(name);
  }

  /** By canonical address text (formatIPv4 / formatIPv6). */
  memberAt(address: string): NamedMember | undefined {
    return this.byAddress.get(address);
  }

  /** Whether an address is one of the network's, so its reverse name is this resolver's to answer. */
  owns(address: string): boolean {
    return parseIPv4(address)
      ? ipv4InSubnet(address, this.ipv4Subnet)
      : parseIPv6(address) !== undefined && ipv6InSubnet(address, this.ipv6Subnet);
  }
}

/**
 * Where a query name (lowercase labels, root last) falls for this resolver:
 * - `apex`: the zone itself;
 * - `member`: one label under the zone (whether or not a member holds it);
 * - `deep`: more than one label under the zone (no such names exist);
 * - `reverse`: the full reverse name of an address inside the network's subnets;
 * - `outside`: anything else, which goes to the host's resolvers.
 */
export type Place =
  | { kind: 'apex' }
  | { kind: 'member'; name: string }
  | { kind: 'deep' }
  | { kind: 'reverse'; address: string }
  | { kind: 'outside' };

export function placeOf(labels: readonly string[], table: NameTable): Place {
  const zone = table.zone.split('.');
  if (endsWith(labels, zone)) {
    const below = labels.length - zone.length;
    if (below === 0) return { kind: 'apex' };
    if (below === 1) return { kind: 'member', name: labels[0]! };
    return { kind: 'deep' };
  }
  const address = reverseAddress(labels);
  return address !== undefined && table.owns(address) ? { kind: 'reverse', address } : { kind: 'outside' };
}

function endsWith(labels: readonly string[], suffix: readonly string[]): boolean {
  if (labels.length < suffix.length) return false;
  const offset = labels.length - suffix.length;
  return suffix.every((s, i) => labels[offset + i] === s);
}

/**
 * The address a full reverse name stands for: four decimal labels under in-addr.arpa (RFC 1035
 * §3.5), or 32 hex nibbles under ip6.arpa (RFC 3596 §2.5), least significant first. Partial names
 * (a /16's `89.100.in-addr.arpa`) are no address and go to the host's resolvers.
 */
export function reverseAddress(labels: readonly string[]): string | undefined {
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    return parseIPv4Text(labels.slice(0, 4).reverse().join('.'));
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    const nibbles = labels.slice(0, 32).reverse();
    if (!nibbles.every((x) => /^[0-9a-f]$/.test(x))) return undefined;
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 16; i++) bytes[i] = Number.parseInt(nibbles[2 * i]! + nibbles[2 * i + 1]!, 16);
    return formatIPv6(bytes);
  }
  return undefined;
}

function parseIPv4Text(text: string): string | undefined {
  const bytes = parseIPv4(text);
  return bytes && formatIPv4(bytes);
}

/** The reverse name of an address (for PTR questions and tests), without a trailing dot. */
export function reverseNameOf(address: string): string {
  const v4 = parseIPv4(address);
  if (v4) return `${[...v4].reverse().join('.')}.in-addr.arpa`;
  const v6 = parseIPv6(address);
  if (!v6) throw new RangeError(`not an IP address: ${address}`);
  const nibbles = [...v6].flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)]);
  return `${nibbles.reverse().join('.')}.ip6.arpa`;
}
