/**
 * PCP (RFC 6887) messages this client uses: MAP for UDP (§11) and ANNOUNCE (§14.1). IPv4 addresses
 * travel as IPv4-mapped IPv6 (::ffff:a.b.c.d, §5).
 *
 *   request header (24):  version 2 | R=0,opcode | reserved(2) | lifetime(4) | client IP(16)
 *   response header (24): version 2 | R=1,opcode | reserved | result | lifetime(4) | epoch(4) | reserved(12)
 *   MAP data (36):        nonce(12) | protocol | reserved(3) | internal port(2) | ext port(2) | ext IP(16)
 *
 * Options (§7.3) after the MAP data are skipped by length; a response with a nonce that is not
 * ours is not ours (§11.3), and anything malformed is junk for the caller to count.
 */
import { bytesEqual } from '../base/bytes.js';
import { formatIPv4, parseIPv4 } from '../base/ip.js';
import { IPPROTO_UDP, MAX_PCP_DATAGRAM, PCP_OP_ANNOUNCE, PCP_OP_MAP, PCP_VERSION } from './constants.js';

const HEADER = 24;
const MAP_DATA = 36;
export const PCP_NONCE_LENGTH = 12;

/** RFC 6887 §7.4 result codes, for logs and status. */
export const PCP_RESULTS: Record<number, string> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized',
  3: 'malformed request',
  4: 'unsupported opcode',
  5: 'unsupported option',
  6: 'malformed option',
  7: 'network failure',
  8: 'no resources',
  9: 'unsupported protocol',
  10: 'user exceeded quota',
  11: 'cannot provide external',
  12: 'address mismatch',
  13: 'excessive remote peers',
};

export type PcpResponse =
  | { op: 'announce'; result: number; epoch: number }
  | {
      op: 'map';
      result: number;
      lifetime: number;
      epoch: number;
      nonce: Uint8Array;
      protocol: number;
      internalPort: number;
      externalPort: number;
      /** Dotted quad; undefined when the server answered with an IPv6 address (not ours to use). */
      externalAddress: string | undefined;
    };

function mapped(ipv4: string): Uint8Array {
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  const b = parseIPv4(ipv4);
  if (!b) throw new Error(`not an IPv4 address: ${ipv4}`);
  out.set(b, 12);
  return out;
}

function unmapped(b: Uint8Array): string | undefined {
  for (let i = 0; i < 10; i++) if (b[i] !== 0) return undefined;
  if (b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return formatIPv4(b.subarray(12, 16));
}

/**
 * A MAP request for UDP `internalPort` from `clientIp` (the address the router sees us at, §8.1),
 * suggesting the same external port. Lifetime 0 deletes it (§15).
 */
export function encodePcpMap(o: {
  nonce: Uint8Array;
  clientIp: string;
  internalPort: number;
  suggestedPort: number;
  lifetime: number;
}): Uint8Array {
  if (o.nonce.length !== PCP_NONCE_LENGTH) throw new Error('a PCP nonce is 12 bytes');
  const b = new Uint8Array(HEADER + MAP_DATA);
  const v = new DataView(b.buffer);
  b[0] = PCP_VERSION;
  b[1] = PCP_OP_MAP;
  v.setUint32(4, o.lifetime);
  b.set(mapped(o.clientIp), 8);
  b.set(o.nonce, HEADER);
  b[HEADER + 12] = IPPROTO_UDP;
  v.setUint16(HEADER + 16, o.internalPort);
  v.setUint16(HEADER + 18, o.suggestedPort);
  // Suggested external address: all zeros in IPv4-mapped form would be ::ffff:0.0.0.0 (§11.1: "any").
  b[HEADER + 30] = 0xff;
  b[HEADER + 31] = 0xff;
  return b;
}

/** A PCP response (MAP or ANNOUNCE), or undefined for anything that is not exactly one. */
export function decodePcpResponse(b: Uint8Array): PcpResponse | undefined {
  // §7: at least a header, at most 1100 octets, a multiple of 4.
  if (b.length < HEADER || b.length > MAX_PCP_DATAGRAM || b.length % 4 !== 0) return undefined;
  if (b[0] !== PCP_VERSION || (b[1]! & 0x80) === 0) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const op = b[1]! & 0x7f;
  const result = b[3]!;
  const lifetime = v.getUint32(4);
  const epoch = v.getUint32(8);
  if (op === PCP_OP_ANNOUNCE) return { op: 'announce', result, epoch };
  if (op !== PCP_OP_MAP) return undefined;
  if (b.length < HEADER + MAP_DATA) return undefined;
  return {
    op: 'map',
    result,
    lifetime,
    epoch,
    nonce: b.slice(HEADER, HEADER + PCP_NONCE_LENGTH),
    protocol: b[HEADER + 12]!,
    internalPort: v.getUint16(HEADER + 16),
    externalPort: v.getUint16(HEADER + 18),
    externalAddress: unmapped(b.subarray(HEADER + 20, HEADER + 36)),
  };
}

/** Whether a MAP response answers our request (§11.3: nonce, protocol and internal port all match). */
export function answersOurMap(r: PcpResponse, nonce: Uint8Array, internalPort: number): boolean {
  return (
    r.op === 'map' &&
    bytesEqual(r.nonce, nonce) &&
    r.protocol === IPPROTO_UDP &&
    r.internalPort === internalPort
  );
}
