/**
 * What kind of address a candidate endpoint is, and the strict text form discovery accepts on the
 * wire: "a.b.c.d:port" or "[v6]:port", canonical, so one address cannot hide behind two spellings
 * (and so dedupe by string is dedupe by address).
 */
import { type Endpoint, formatEndpoint, parseEndpoint } from '../base/endpoint.js';

/**
 * 'lan': reachable only inside a site (RFC 1918, RFC 6598 shared space, 198.18.0.0/15 as DESIGN.md's
 * LANs, IPv6 ULA); 'public': anything else a peer might reach across the internet.
 */
export type AddressScope = 'lan' | 'public';

/** A candidate as an endpoint; undefined unless `text` is an endpoint in its one canonical form. */
export function parseCandidate(text: string): Endpoint | undefined {
  const e = parseEndpoint(text);
  return e && formatEndpoint(e) === text ? e : undefined;
}

export function isCandidate(text: string): boolean {
  return parseCandidate(text) !== undefined;
}

export function addressScope(ip: string): AddressScope {
  if (ip.includes(':')) return /^f[cd]/i.test(ip) ? 'lan' : 'public';
  const [a = 0, b = 0] = ip.split('.').map(Number);
  if (a === 10 || a === 127) return 'lan';
  if (a === 172 && b >= 16 && b <= 31) return 'lan';
  if (a === 192 && b === 168) return 'lan';
  if (a === 100 && b >= 64 && b <= 127) return 'lan';
  if (a === 198 && (b === 18 || b === 19)) return 'lan';
  return 'public';
}

/**
 * Whether a member's candidates name a private address, or none at all (a record not made yet): it
 * may sit behind a NAT, perhaps one without a firewall, so its public addresses are not sent to
 * before it has opened them (opening.ts). Only a member that names public addresses alone has none.
 */
export function behindNat(candidates: readonly string[]): boolean {
  if (candidates.length === 0) return true;
  return candidates.some((c) => {
    const ip = ipOf(c);
    return ip !== undefined && addressScope(ip) === 'lan';
  });
}

/**
 * Whether a packet to `endpoint`, one of a member's `candidates`, sent before discovery found a
 * path could reach the member's NAT before the member opened it (opening.ts): a public address of a
 * member that may sit behind a NAT. Its private addresses are safe, reaching it only on its own LAN.
 */
export function tooEarlyFor(candidates: readonly string[], endpoint: string): boolean {
  const ip = ipOf(endpoint);
  return behindNat(candidates) && ip !== undefined && addressScope(ip) === 'public';
}

/** The IP of a candidate string, or undefined when it is not one. */
export function ipOf(text: string): string | undefined {
  return parseCandidate(text)?.address;
}
