/**
 * What kind of address a candidate endpoint is, and the strict text form discovery accepts on the
 * wire: "a.b.c.d:port" or "[v6]:port", canonical, so one address cannot hide behind two spellings.
 * Inside discovery a candidate is an `Endpoint` (core/base/endpoint.ts); text is parsed once, where
 * it arrives (messages.ts decode, the node's edges), with parseCandidate.
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

/**
 * The key of an endpoint in a Map or Set: its canonical text. Endpoints are values (two parses of
 * one address need not be one object: parseEndpoint's cache is bounded, and endpointFromBytes does
 * not intern), so tables key by the text, not by the object.
 */
export function endpointKey(e: Endpoint): string {
  return formatEndpoint(e);
}

/** `list` without repeats (by address and port), first occurrence kept, in order. */
export function dedupeEndpoints(list: readonly Endpoint[]): Endpoint[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const key = endpointKey(e);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether two lists hold the same endpoints in the same order. */
export function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  return (
    a === b ||
    (a.length === b.length && a.every((e, i) => e.address === b[i]!.address && e.port === b[i]!.port))
  );
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

export function isPublicEndpoint(e: Endpoint): boolean {
  return addressScope(e.address) === 'public';
}

/**
 * Whether a member's candidates name a private address, or none at all (a record not made yet): it
 * may sit behind a NAT, perhaps one without a firewall, so its public addresses are not sent to
 * before it has opened them (opening.ts). Only a member that names public addresses alone has none.
 */
export function behindNat(candidates: readonly Endpoint[]): boolean {
  if (candidates.length === 0) return true;
  return candidates.some((c) => addressScope(c.address) === 'lan');
}

/**
 * Whether a packet to `endpoint`, one of a member's `candidates`, sent before discovery found a
 * path could reach the member's NAT before the member opened it (opening.ts): a public address of a
 * member that may sit behind a NAT. Its private addresses are safe, reaching it only on its own LAN.
 */
export function tooEarlyFor(candidates: readonly Endpoint[], endpoint: Endpoint): boolean {
  return behindNat(candidates) && isPublicEndpoint(endpoint);
}
