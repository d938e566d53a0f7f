/**
 * What identifies a network and bounds its members: the network's Ed25519 public key, its two
 * overlay subnets, and its name (the middle of its DNS zone, `MEMBER.NAME.internal`). Every node of
 * the network holds the same four values (from `init`, or from the inviter on `join`).
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../base/ip.js';
import { encodeKey } from '../base/keys.js';
import { decodeKey } from '../identity/keys.js';
import {
  formatSubnet,
  type IPv4Subnet,
  type IPv6Subnet,
  ipv6InSubnet,
  isAssignableIPv4,
  parseIPv4Subnet,
  parseIPv6Subnet,
} from './addressing.js';
import { isMemberName, MEMBER_NAME_RULE, type UnsignedCertificate } from './certificate.js';
import { MembershipError } from './membershipError.js';

export interface Network {
  /** The network's Ed25519 public key. */
  readonly key: Uint8Array;
  readonly ipv4Subnet: IPv4Subnet;
  readonly ipv6Subnet: IPv6Subnet;
  /** A DNS label: members are named `MEMBER.NAME.internal` (core/dns/zone.ts). */
  readonly name: string;
}

/**
 * The name of a network made before networks had names (state written by an older overlay, or a
 * join answer from an older inviter), and of one whose founder gave none.
 */
export const DEFAULT_NETWORK_NAME = 'overlay';
/** A network name is one DNS label, held to the member-name rule (RFC 1123 §2.1, lowercase). */
export const NETWORK_NAME_RULE = MEMBER_NAME_RULE;

export function isNetworkName(name: unknown): name is string {
  return typeof name === 'string' && isMemberName(name);
}

export interface NetworkJSON {
  key: string;
  ipv4Subnet: string;
  ipv6Subnet: string;
  /** Absent in files written before networks had names: DEFAULT_NETWORK_NAME. */
  name?: string;
}

export function networkToJSON(n: Network): NetworkJSON {
  return {
    key: encodeKey(n.key),
    ipv4Subnet: formatSubnet(n.ipv4Subnet),
    ipv6Subnet: formatSubnet(n.ipv6Subnet),
    name: n.name,
  };
}

/** Throws ESTORE_CORRUPT naming the bad field. */
export function networkFromJSON(value: unknown, where: string): Network {
  const corrupt = (what: string) => new MembershipError('ESTORE_CORRUPT', `${where}: ${what}`);
  const v = value as Partial<NetworkJSON> | null;
  if (typeof v !== 'object' || v === null) throw corrupt('network is not an object');
  let key: Uint8Array;
  try {
    key = decodeKey(v.key as string, 32, 'network key');
  } catch {
    throw corrupt('network key is not a 32-byte base64 key');
  }
  const subnet = <T>(parse: (s: string) => T, text: unknown, what: string): T => {
    try {
      return parse(text as string);
    } catch (e) {
      throw corrupt(`${what} ${JSON.stringify(text)} is invalid: ${e instanceof Error ? e.message : e}`);
    }
  };
  if (v.name !== undefined && !isNetworkName(v.name)) {
    throw corrupt(`network name ${JSON.stringify(v.name)} is not ${NETWORK_NAME_RULE}`);
  }
  return {
    key,
    ipv4Subnet: subnet(parseIPv4Subnet, v.ipv4Subnet, 'ipv4Subnet'),
    ipv6Subnet: subnet(parseIPv6Subnet, v.ipv6Subnet, 'ipv6Subnet'),
    name: v.name ?? DEFAULT_NETWORK_NAME,
  };
}

/** Why a certificate's addresses do not belong to this network; undefined if they do. */
export function networkChecks(network: Network, cert: UnsignedCertificate): string | undefined {
  if (!isAssignableIPv4(cert.ipv4, network.ipv4Subnet)) {
    return `IPv4 ${cert.ipv4} is not a member address of ${formatSubnet(network.ipv4Subnet)}`;
  }
  if (!ipv6InSubnet(cert.ipv6, network.ipv6Subnet)) {
    return `IPv6 ${cert.ipv6} is outside ${formatSubnet(network.ipv6Subnet)}`;
  }
  return undefined;
}

/** The one text form of an IPv4 or IPv6 address, or undefined. */
export function canonicalAddress(text: string): string | undefined {
  const v4 = parseIPv4(text);
  if (v4) return formatIPv4(v4);
  const v6 = parseIPv6(text);
  return v6 ? formatIPv6(v6) : undefined;
}
