/**
 * NAT-PMP (RFC 6886) messages: the external address request and the UDP map request, and their
 * responses. Every field is big-endian.
 *
 *   external address request (2):  version 0 | op 0
 *   external address response (12): version 0 | op 128 | result(2) | epoch(4) | external IPv4(4)
 *   map request (12):   version 0 | op 1 | reserved(2) | internal port(2) | suggested ext port(2) | lifetime(4)
 *   map response (16):  version 0 | op 129 | result(2) | epoch(4) | internal port(2) | ext port(2) | lifetime(4)
 *
 * A lifetime of 0 deletes the mapping (§3.4). Anything else that arrives is junk, counted by the caller.
 */
import { formatIPv4 } from '../base/ip.js';
import { NAT_PMP_OP_EXTERNAL_ADDRESS, NAT_PMP_OP_MAP_UDP, NAT_PMP_VERSION } from './constants.js';

export type NatPmpResponse =
  | { op: 'external-address'; result: number; epoch: number; address: string }
  | {
      op: 'map-udp';
      result: number;
      epoch: number;
      internalPort: number;
      externalPort: number;
      lifetime: number;
    };

/** RFC 6886 §3.5 result codes, for logs and status. */
export const NAT_PMP_RESULTS: Record<number, string> = {
  0: 'success',
  1: 'unsupported version',
  2: 'not authorized/refused',
  3: 'network failure',
  4: 'out of resources',
  5: 'unsupported opcode',
};

export function encodeExternalAddressRequest(): Uint8Array {
  return Uint8Array.of(NAT_PMP_VERSION, NAT_PMP_OP_EXTERNAL_ADDRESS);
}

export function encodeMapUdpRequest(
  internalPort: number,
  suggestedPort: number,
  lifetime: number,
): Uint8Array {
  const b = new Uint8Array(12);
  const v = new DataView(b.buffer);
  b[0] = NAT_PMP_VERSION;
  b[1] = NAT_PMP_OP_MAP_UDP;
  v.setUint16(4, internalPort);
  v.setUint16(6, suggestedPort);
  v.setUint32(8, lifetime);
  return b;
}

/** A NAT-PMP response, or undefined for anything that is not exactly one. */
export function decodeNatPmpResponse(b: Uint8Array): NatPmpResponse | undefined {
  if (b.length < 8 || b[0] !== NAT_PMP_VERSION) return undefined;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const result = v.getUint16(2);
  const epoch = v.getUint32(4);
  if (b[1] === 128 + NAT_PMP_OP_EXTERNAL_ADDRESS && b.length === 12) {
    return { op: 'external-address', result, epoch, address: formatIPv4(b.subarray(8, 12)) };
  }
  if (b[1] === 128 + NAT_PMP_OP_MAP_UDP && b.length === 16) {
    return {
      op: 'map-udp',
      result,
      epoch,
      internalPort: v.getUint16(8),
      externalPort: v.getUint16(10),
      lifetime: v.getUint32(12),
    };
  }
  return undefined;
}
