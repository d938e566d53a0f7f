/**
 * The STUN messages overlay speaks (RFC 8489, Binding only), as bytes: the request it sends a
 * server, the success response that tells it its reflexive address, and, for the test server, the
 * other direction. No I/O. Decoders take untrusted datagrams and never throw: a refusal carries a
 * reason instead.
 */
import { type Endpoint, endpointFromBytes } from '../base/endpoint.js';
import { parseIP } from '../base/ip.js';
import { ByteReader, ByteWriter } from '../overlayWire/byteCodec.js';
import {
  ATTR_ERROR_CODE,
  ATTR_FINGERPRINT,
  ATTR_MAPPED_ADDRESS,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_MESSAGE_INTEGRITY_SHA256,
  ATTR_NONCE,
  ATTR_PASSWORD_ALGORITHM,
  ATTR_REALM,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_USERHASH,
  ATTR_USERNAME,
  ATTR_XOR_MAPPED_ADDRESS,
  BINDING_ERROR,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  FAMILY_IPV4,
  FAMILY_IPV6,
  HEADER_SIZE,
  LEGACY_RFC3489_ATTRS,
  MAGIC_COOKIE,
  TXID_SIZE,
} from './constants.js';

export type BindingResponse =
  | { readonly ok: true; readonly txid: Uint8Array; readonly mapped: Endpoint }
  | { readonly ok: false; readonly reason: string };

export type BindingRequest =
  | { readonly ok: true; readonly txid: Uint8Array }
  | { readonly ok: false; readonly reason: string };

/** The comprehension-required attributes (below 0x8000) we know; any other fails a response (RFC 8489 §7.3.3). */
const UNDERSTOOD = new Set<number>([
  ATTR_MAPPED_ADDRESS,
  ATTR_USERNAME,
  ATTR_MESSAGE_INTEGRITY,
  ATTR_ERROR_CODE,
  ATTR_UNKNOWN_ATTRIBUTES,
  ATTR_REALM,
  ATTR_NONCE,
  ATTR_MESSAGE_INTEGRITY_SHA256,
  ATTR_PASSWORD_ALGORITHM,
  ATTR_USERHASH,
  ATTR_XOR_MAPPED_ADDRESS,
  ...LEGACY_RFC3489_ATTRS,
]);

/**
 * A cheap test that a datagram is a STUN message (RFC 8489 §5): the two top bits zero, the magic
 * cookie, and a length field that matches the datagram and is a multiple of 4. WireGuard and
 * overlay's own messages never pass it: they put a nonzero byte among bytes 1..3 or ≥ 0x80 first.
 * The native data path applies the same test (native/src/datapath/wire.h, IsStunMessage).
 */
export function isStunMessage(datagram: Uint8Array): boolean {
  if (!(datagram instanceof Uint8Array) || datagram.length < HEADER_SIZE) return false;
  if ((datagram[0]! & 0xc0) !== 0) return false;
  if (readU32(datagram, 4) !== MAGIC_COOKIE) return false;
  const length = (datagram[2]! << 8) | datagram[3]!;
  return length % 4 === 0 && length + HEADER_SIZE === datagram.length;
}

/** A Binding Request with no attributes: the server needs nothing but the header to answer. */
export function encodeBindingRequest(txid: Uint8Array): Uint8Array {
  checkTxid(txid);
  return new ByteWriter(HEADER_SIZE).u16(BINDING_REQUEST).u16(0).u32(MAGIC_COOKIE).bytes(txid).finish();
}

/** The server's side: a Binding success response carrying `mapped`, the address it saw, as XOR-MAPPED-ADDRESS. */
export function encodeBindingSuccess(txid: Uint8Array, mapped: Endpoint): Uint8Array {
  checkTxid(txid);
  const address = parseIP(mapped.address);
  if (address === undefined) throw new RangeError(`not an IP address: ${mapped.address}`);
  if (!Number.isInteger(mapped.port) || mapped.port < 1 || mapped.port > 0xffff)
    throw new RangeError(`port out of range: ${mapped.port}`);
  const value = new ByteWriter(4 + address.length)
    .u8(0)
    .u8(address.length === 4 ? FAMILY_IPV4 : FAMILY_IPV6)
    .u16(mapped.port ^ (MAGIC_COOKIE >>> 16))
    .bytes(xorWithCookieAndTxid(address, txid))
    .finish();
  return new ByteWriter(HEADER_SIZE + 4 + value.length)
    .u16(BINDING_SUCCESS)
    .u16(4 + value.length)
    .u32(MAGIC_COOKIE)
    .bytes(txid)
    .u16(ATTR_XOR_MAPPED_ADDRESS)
    .u16(value.length)
    .bytes(value)
    .finish();
}

/** The server's side: the transaction id of a well-formed Binding Request. Its attributes are not read. */
export function decodeBindingRequest(datagram: Uint8Array): BindingRequest {
  if (!isStunMessage(datagram)) return { ok: false, reason: 'not a STUN message' };
  const type = messageType(datagram);
  if (type !== BINDING_REQUEST) return { ok: false, reason: `not a Binding request (type ${hex16(type)})` };
  if (attributesOf(datagram) === undefined) return { ok: false, reason: 'an attribute overruns the message' };
  return { ok: true, txid: datagram.slice(8, HEADER_SIZE) };
}

/**
 * A Binding success response's transaction id and mapped address: XOR-MAPPED-ADDRESS, or
 * MAPPED-ADDRESS from a server that only knows RFC 3489. An error response is refused with its
 * code. Integrity and fingerprint are not checked (we send no credentials); what follows them is
 * ignored, as RFC 8489 §14.5 requires.
 */
export function decodeBindingResponse(datagram: Uint8Array): BindingResponse {
  if (!isStunMessage(datagram)) return { ok: false, reason: 'not a STUN message' };
  const attributes = attributesOf(datagram);
  if (attributes === undefined) return { ok: false, reason: 'an attribute overruns the message' };
  const type = messageType(datagram);
  if (type === BINDING_ERROR) return { ok: false, reason: errorReason(attributes) };
  if (type !== BINDING_SUCCESS)
    return { ok: false, reason: `not a Binding success response (type ${hex16(type)})` };
  const unknown = attributes.find((a) => a.type < 0x8000 && !UNDERSTOOD.has(a.type));
  if (unknown !== undefined)
    return { ok: false, reason: `unknown comprehension-required attribute ${hex16(unknown.type)}` };

  const txid = datagram.slice(8, HEADER_SIZE);
  // RFC 8489 §14: only the first of an attribute type counts.
  const xored = attributes.find((a) => a.type === ATTR_XOR_MAPPED_ADDRESS);
  if (xored !== undefined) {
    const mapped = readAddress(xored.value, txid);
    return mapped ? { ok: true, txid, mapped } : { ok: false, reason: 'malformed XOR-MAPPED-ADDRESS' };
  }
  const plain = attributes.find((a) => a.type === ATTR_MAPPED_ADDRESS);
  if (plain !== undefined) {
    const mapped = readAddress(plain.value, undefined);
    return mapped ? { ok: true, txid, mapped } : { ok: false, reason: 'malformed MAPPED-ADDRESS' };
  }
  return { ok: false, reason: 'no mapped address in the response' };
}

interface Attribute {
  readonly type: number;
  readonly value: Uint8Array;
}

/**
 * The attributes before any MESSAGE-INTEGRITY(-SHA256) or FINGERPRINT (RFC 8489 §14.5, §14.7:
 * what follows those is ignored), each value without its padding to 4 bytes; undefined when one
 * overruns the message, anywhere in it.
 */
function attributesOf(datagram: Uint8Array): Attribute[] | undefined {
  const r = new ByteReader(datagram.subarray(HEADER_SIZE));
  const out: Attribute[] = [];
  let counted = true;
  while (r.ok && r.remaining > 0) {
    const type = r.u16();
    const length = r.u16();
    const value = r.take(length);
    r.take((4 - (length % 4)) % 4);
    if (!r.ok) return undefined;
    if (
      type === ATTR_MESSAGE_INTEGRITY ||
      type === ATTR_MESSAGE_INTEGRITY_SHA256 ||
      type === ATTR_FINGERPRINT
    )
      counted = false;
    if (counted) out.push({ type, value });
  }
  return r.ok ? out : undefined;
}

/** RFC 8489 §14.1, §14.2: reserved byte, family, port, then 4 or 16 address bytes; XORed when `txid` is given. */
function readAddress(value: Uint8Array, txid: Uint8Array | undefined): Endpoint | undefined {
  if (value.length < 4) return undefined;
  const family = value[1];
  const size = family === FAMILY_IPV4 ? 4 : family === FAMILY_IPV6 ? 16 : 0;
  if (size === 0 || value.length !== 4 + size) return undefined;
  let port = (value[2]! << 8) | value[3]!;
  let address = value.subarray(4);
  if (txid !== undefined) {
    port ^= MAGIC_COOKIE >>> 16;
    address = xorWithCookieAndTxid(address, txid);
  }
  if (port === 0) return undefined;
  return endpointFromBytes(address, port);
}

/** RFC 8489 §14.2: an IPv4 address is XORed with the cookie, an IPv6 one with the cookie and transaction id. */
function xorWithCookieAndTxid(address: Uint8Array, txid: Uint8Array): Uint8Array {
  const mask = new ByteWriter(16).u32(MAGIC_COOKIE).bytes(txid).finish();
  return address.map((b, i) => b ^ mask[i]!);
}

/** RFC 8489 §14.8: ERROR-CODE is 21 reserved bits, a class (hundreds), a number, and a reason phrase. */
function errorReason(attributes: readonly Attribute[]): string {
  const error = attributes.find((a) => a.type === ATTR_ERROR_CODE);
  if (error === undefined || error.value.length < 4) return 'error response (no error code)';
  const code = (error.value[2]! & 0x07) * 100 + error.value[3]!;
  // The phrase is the server's words: printable ASCII only, and short, before it reaches a log.
  const phrase = Array.from(error.value.subarray(4, 4 + 64), (b) =>
    b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '?',
  )
    .join('')
    .trim();
  return phrase === '' ? `error response ${code}` : `error response ${code} (${phrase})`;
}

function messageType(datagram: Uint8Array): number {
  return (datagram[0]! << 8) | datagram[1]!;
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function hex16(value: number): string {
  return `0x${value.toString(16).padStart(4, '0')}`;
}

function checkTxid(txid: Uint8Array): void {
  if (!(txid instanceof Uint8Array) || txid.length !== TXID_SIZE)
    throw new RangeError(`a STUN transaction id is ${TXID_SIZE} bytes`);
}
