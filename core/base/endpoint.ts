/**
 * A UDP endpoint: where a peer is reached or a datagram came from. One type from the data path's
 * event up to the CLI, always in its one canonical spelling (dotted quad, or RFC 5952 IPv6), so two
 * values for the same address compare equal field by field and format to the same text. Text only
 * at the edges: the data path's events and calls, gossip records and invite codes, JSON, the CLI.
 *
 *   text form   "192.0.2.1:51820"  or  "[2001:db8::1]:51820"
 */
import { formatIP, parseIP } from './ip.js';

export interface Endpoint {
  /** The address in canonical text: "192.0.2.1" or "2001:db8::1" (no brackets, no zone). */
  readonly address: string;
  /** 1..65535 */
  readonly port: number;
}

export type AddressFamily = 4 | 6;

/**
 * Endpoints parsed lately, by text: every datagram's source and every send's target is parsed, and
 * a node talks to the same few hundred addresses. Frozen, since every caller shares one value.
 */
const parsed = new Map<string, Endpoint>();
const MAX_PARSED = 4096;

/** `text` as an endpoint, address spelled canonically; undefined unless it is one (port 1..65535). */
export function parseEndpoint(text: string): Endpoint | undefined {
  const known = parsed.get(text);
  if (known !== undefined) return known;
  const e = parseEndpointText(text);
  if (e === undefined) return undefined;
  if (parsed.size >= MAX_PARSED) parsed.clear();
  parsed.set(text, Object.freeze(e));
  return e;
}

function parseEndpointText(text: string): Endpoint | undefined {
  if (typeof text !== 'string' || text.length > 64) return undefined;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([0-9.]+)):([1-9][0-9]{0,4})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  const bytes = m[1] !== undefined ? parseIP(m[1]) : parseIP(m[2]!);
  // "[1.2.3.4]:5" parses as IPv6 text and fails there: brackets are for IPv6 only.
  if (!bytes || (m[1] !== undefined) !== (bytes.length === 16)) return undefined;
  return { address: formatIP(bytes), port };
}

/** The text form; canonical whenever `e` came from this module. */
export function formatEndpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** The one text form of an endpoint, or undefined if `text` is not one. */
export function canonicalEndpoint(text: string): string | undefined {
  const e = parseEndpoint(text);
  return e ? formatEndpoint(e) : undefined;
}

/** An endpoint from its address bytes (4 or 16) and port, as wire formats carry it. */
export function endpointFromBytes(address: Uint8Array, port: number): Endpoint {
  return { address: formatIP(address), port };
}

/** The 4 or 16 bytes of an endpoint's address. */
export function endpointAddressBytes(e: Endpoint): Uint8Array {
  const bytes = parseIP(e.address);
  if (!bytes) throw new RangeError(`not an IP address: ${e.address}`);
  return bytes;
}

export function endpointFamily(e: Endpoint): AddressFamily {
  return e.address.includes(':') ? 6 : 4;
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address && a.port === b.port;
}
