/**
 * What kind of address a candidate endpoint is, and the strict text form discovery accepts on the
 * wire: "a.b.c.d:port" or "[v6]:port", canonical, so one address cannot hide behind two spellings
 * (and so dedupe by string is dedupe by address).
 */
import net from 'node:net';

/**
 * 'lan': reachable only inside a site (RFC 1918, RFC 6598 shared space, 198.18.0.0/15 as DESIGN.md's
 * LANs, IPv6 ULA); 'public': anything else a peer might reach across the internet.
 */
export type AddressScope = 'lan' | 'public';

export interface ParsedEndpoint {
  readonly ip: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export function parseCandidate(text: string): ParsedEndpoint | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = /^(?:\[([0-9a-f:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535 || String(port) !== m[3]) return undefined;
  const v6 = m[1];
  if (v6 !== undefined) {
    if (!net.isIPv6(v6) || v6 !== canonicalV6(v6)) return undefined;
    return { ip: v6, port, family: 6 };
  }
  const v4 = m[2]!;
  if (!net.isIPv4(v4)) return undefined;
  return { ip: v4, port, family: 4 };
}

export function isCandidate(text: string): boolean {
  return parseCandidate(text) !== undefined;
}

export function formatCandidate(ip: string, port: number): string {
  return ip.includes(':') ? `[${canonicalV6(ip)}]:${port}` : `${ip}:${port}`;
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

/** The IP of a candidate string, or undefined when it is not one. */
export function ipOf(text: string): string | undefined {
  return parseCandidate(text)?.ip;
}

/** Lowercase, shortest form (RFC 5952 enough for our purpose): what URL's parser produces. */
function canonicalV6(ip: string): string {
  try {
    return new URL(`http://[${ip}]/`).hostname.slice(1, -1);
  } catch {
    return '';
  }
}
