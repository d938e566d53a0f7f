/**
 * Byte layout of WireGuard's four messages (whitepaper §5.4.2, §5.4.3, §5.4.6, §5.4.7).
 * Multi-byte integers are little-endian. The type is one byte followed by three reserved zero bytes;
 * read together as a 32-bit word, so a non-zero reserved byte makes an unknown type.
 * Parsers never throw: junk from the network yields a typed drop reason.
 */
import {
  AEAD_TAG_SIZE,
  COOKIE_NONCE_SIZE,
  COOKIE_REPLY_SIZE,
  INITIATION_SIZE,
  KEY_SIZE,
  MAC_SIZE,
  MAX_MESSAGE_SIZE,
  MESSAGE_COOKIE_REPLY,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
  MESSAGE_TRANSPORT,
  RESPONSE_SIZE,
  TIMESTAMP_SIZE,
  TRANSPORT_HEADER_SIZE,
  TRANSPORT_MIN_SIZE,
} from './constants.js';

/** Why an incoming datagram was not acted on. Shared by parsers, the handshake and the peer logic. */
export type DropReason =
  | 'empty'
  | 'unknownType'
  | 'badLength'
  | 'tooLarge'
  | 'badMac1'
  | 'needCookie'
  | 'unknownReceiver'
  | 'unknownPeer'
  | 'decryptFailed'
  | 'badPublicKey'
  | 'replayedTimestamp'
  | 'replayedCounter'
  | 'sessionExpired'
  | 'unexpectedMessage';

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: DropReason };

/** whitepaper §5.4.2: msg = type ‖ reserved ‖ sender ‖ ephemeral ‖ static ‖ timestamp ‖ mac1 ‖ mac2. */
export interface Initiation {
  readonly type: typeof MESSAGE_INITIATION;
  readonly senderIndex: number;
  readonly ephemeral: Uint8Array;
  readonly encryptedStatic: Uint8Array;
  readonly encryptedTimestamp: Uint8Array;
  readonly mac1: Uint8Array;
  readonly mac2: Uint8Array;
  /** The whole message as received, for mac checks over its prefix. */
  readonly bytes: Uint8Array;
}

/** whitepaper §5.4.3: msg = type ‖ reserved ‖ sender ‖ receiver ‖ ephemeral ‖ empty ‖ mac1 ‖ mac2. */
export interface Response {
  readonly type: typeof MESSAGE_RESPONSE;
  readonly senderIndex: number;
  readonly receiverIndex: number;
  readonly ephemeral: Uint8Array;
  readonly encryptedNothing: Uint8Array;
  readonly mac1: Uint8Array;
  readonly mac2: Uint8Array;
  readonly bytes: Uint8Array;
}

/** whitepaper §5.4.7: msg = type ‖ reserved ‖ receiver ‖ nonce ‖ cookie. */
export interface CookieReply {
  readonly type: typeof MESSAGE_COOKIE_REPLY;
  readonly receiverIndex: number;
  readonly nonce: Uint8Array;
  readonly encryptedCookie: Uint8Array;
  readonly bytes: Uint8Array;
}

/** whitepaper §5.4.6: msg = type ‖ reserved ‖ receiver ‖ counter ‖ packet. */
export interface Transport {
  readonly type: typeof MESSAGE_TRANSPORT;
  readonly receiverIndex: number;
  readonly counter: bigint;
  readonly encryptedPacket: Uint8Array;
  readonly bytes: Uint8Array;
}

export type Message = Initiation | Response | CookieReply | Transport;

// Field offsets, shared by encoders and parsers so the two cannot disagree.
const INIT = { sender: 4, ephemeral: 8, static: 40, timestamp: 88, mac1: 116, mac2: 132 } as const;
const RESP = { sender: 4, receiver: 8, ephemeral: 12, empty: 44, mac1: 60, mac2: 76 } as const;
const COOKIE = { receiver: 4, nonce: 8, cookie: 32 } as const;
const TRANSPORT = { receiver: 4, counter: 8, packet: 16 } as const;

/** Offset of mac1 in a handshake message: mac1 covers everything before it, mac2 everything before mac2. */
export function mac1Offset(type: typeof MESSAGE_INITIATION | typeof MESSAGE_RESPONSE): number {
  return type === MESSAGE_INITIATION ? INIT.mac1 : RESP.mac1;
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function header(type: number, size: number): { bytes: Uint8Array; dv: DataView } {
  const bytes = new Uint8Array(size);
  const dv = view(bytes);
  dv.setUint32(0, type, true);
  return { bytes, dv };
}

/** Reads the 32-bit type word; the caller has checked the length is at least 4. */
function typeWord(bytes: Uint8Array): number {
  return view(bytes).getUint32(0, true);
}

export function encodeInitiation(fields: {
  senderIndex: number;
  ephemeral: Uint8Array;
  encryptedStatic: Uint8Array;
  encryptedTimestamp: Uint8Array;
  mac1?: Uint8Array;
  mac2?: Uint8Array;
}): Uint8Array {
  const { bytes, dv } = header(MESSAGE_INITIATION, INITIATION_SIZE);
  dv.setUint32(INIT.sender, fields.senderIndex >>> 0, true);
  bytes.set(fields.ephemeral, INIT.ephemeral);
  bytes.set(fields.encryptedStatic, INIT.static);
  bytes.set(fields.encryptedTimestamp, INIT.timestamp);
  if (fields.mac1) bytes.set(fields.mac1, INIT.mac1);
  if (fields.mac2) bytes.set(fields.mac2, INIT.mac2);
  return bytes;
}

export function encodeResponse(fields: {
  senderIndex: number;
  receiverIndex: number;
  ephemeral: Uint8Array;
  encryptedNothing: Uint8Array;
  mac1?: Uint8Array;
  mac2?: Uint8Array;
}): Uint8Array {
  const { bytes, dv } = header(MESSAGE_RESPONSE, RESPONSE_SIZE);
  dv.setUint32(RESP.sender, fields.senderIndex >>> 0, true);
  dv.setUint32(RESP.receiver, fields.receiverIndex >>> 0, true);
  bytes.set(fields.ephemeral, RESP.ephemeral);
  bytes.set(fields.encryptedNothing, RESP.empty);
  if (fields.mac1) bytes.set(fields.mac1, RESP.mac1);
  if (fields.mac2) bytes.set(fields.mac2, RESP.mac2);
  return bytes;
}

export function encodeCookieReply(fields: {
  receiverIndex: number;
  nonce: Uint8Array;
  encryptedCookie: Uint8Array;
}): Uint8Array {
  const { bytes, dv } = header(MESSAGE_COOKIE_REPLY, COOKIE_REPLY_SIZE);
  dv.setUint32(COOKIE.receiver, fields.receiverIndex >>> 0, true);
  bytes.set(fields.nonce, COOKIE.nonce);
  bytes.set(fields.encryptedCookie, COOKIE.cookie);
  return bytes;
}

/** Writes the 16-byte transport header in front of an already-sealed packet. */
export function encodeTransport(fields: {
  receiverIndex: number;
  counter: bigint;
  encryptedPacket: Uint8Array;
}): Uint8Array {
  const { bytes, dv } = header(MESSAGE_TRANSPORT, TRANSPORT_HEADER_SIZE + fields.encryptedPacket.length);
  dv.setUint32(TRANSPORT.receiver, fields.receiverIndex >>> 0, true);
  dv.setBigUint64(TRANSPORT.counter, fields.counter, true);
  bytes.set(fields.encryptedPacket, TRANSPORT.packet);
  return bytes;
}

/** Reads the message type without validating the rest; null for anything WireGuard never sends. */
export function messageType(bytes: Uint8Array): number | null {
  if (bytes.length < 4) return null;
  const t = typeWord(bytes);
  return t >= MESSAGE_INITIATION && t <= MESSAGE_TRANSPORT ? t : null;
}

function checkFixed(bytes: Uint8Array, type: number, size: number): DropReason | null {
  if (bytes.length === 0) return 'empty';
  if (bytes.length < 4) return 'badLength';
  if (typeWord(bytes) !== type) return 'unknownType';
  return bytes.length === size ? null : 'badLength';
}

export function parseInitiation(bytes: Uint8Array): Parsed<Initiation> {
  const bad = checkFixed(bytes, MESSAGE_INITIATION, INITIATION_SIZE);
  if (bad) return { ok: false, reason: bad };
  const dv = view(bytes);
  return {
    ok: true,
    value: {
      type: MESSAGE_INITIATION,
      senderIndex: dv.getUint32(INIT.sender, true),
      ephemeral: bytes.slice(INIT.ephemeral, INIT.ephemeral + KEY_SIZE),
      encryptedStatic: bytes.slice(INIT.static, INIT.static + KEY_SIZE + AEAD_TAG_SIZE),
      encryptedTimestamp: bytes.slice(INIT.timestamp, INIT.timestamp + TIMESTAMP_SIZE + AEAD_TAG_SIZE),
      mac1: bytes.slice(INIT.mac1, INIT.mac1 + MAC_SIZE),
      mac2: bytes.slice(INIT.mac2, INIT.mac2 + MAC_SIZE),
      bytes,
    },
  };
}

export function parseResponse(bytes: Uint8Array): Parsed<Response> {
  const bad = checkFixed(bytes, MESSAGE_RESPONSE, RESPONSE_SIZE);
  if (bad) return { ok: false, reason: bad };
  const dv = view(bytes);
  return {
    ok: true,
    value: {
      type: MESSAGE_RESPONSE,
      senderIndex: dv.getUint32(RESP.sender, true),
      receiverIndex: dv.getUint32(RESP.receiver, true),
      ephemeral: bytes.slice(RESP.ephemeral, RESP.ephemeral + KEY_SIZE),
      encryptedNothing: bytes.slice(RESP.empty, RESP.empty + AEAD_TAG_SIZE),
      mac1: bytes.slice(RESP.mac1, RESP.mac1 + MAC_SIZE),
      mac2: bytes.slice(RESP.mac2, RESP.mac2 + MAC_SIZE),
      bytes,
    },
  };
}

export function parseCookieReply(bytes: Uint8Array): Parsed<CookieReply> {
  const bad = checkFixed(bytes, MESSAGE_COOKIE_REPLY, COOKIE_REPLY_SIZE);
  if (bad) return { ok: false, reason: bad };
  return {
    ok: true,
    value: {
      type: MESSAGE_COOKIE_REPLY,
      receiverIndex: view(bytes).getUint32(COOKIE.receiver, true),
      nonce: bytes.slice(COOKIE.nonce, COOKIE.nonce + COOKIE_NONCE_SIZE),
      encryptedCookie: bytes.slice(COOKIE.cookie, COOKIE.cookie + MAC_SIZE + AEAD_TAG_SIZE),
      bytes,
    },
  };
}

export function parseTransport(bytes: Uint8Array): Parsed<Transport> {
  if (bytes.length === 0) return { ok: false, reason: 'empty' };
  if (bytes.length < 4) return { ok: false, reason: 'badLength' };
  if (typeWord(bytes) !== MESSAGE_TRANSPORT) return { ok: false, reason: 'unknownType' };
  if (bytes.length < TRANSPORT_MIN_SIZE) return { ok: false, reason: 'badLength' };
  if (bytes.length > MAX_MESSAGE_SIZE) return { ok: false, reason: 'tooLarge' };
  const dv = view(bytes);
  return {
    ok: true,
    value: {
      type: MESSAGE_TRANSPORT,
      receiverIndex: dv.getUint32(TRANSPORT.receiver, true),
      counter: dv.getBigUint64(TRANSPORT.counter, true),
      encryptedPacket: bytes.subarray(TRANSPORT.packet),
      bytes,
    },
  };
}

/** Parses any of the four messages by its type word. */
export function parseMessage(bytes: Uint8Array): Parsed<Message> {
  if (bytes.length === 0) return { ok: false, reason: 'empty' };
  if (bytes.length > MAX_MESSAGE_SIZE) return { ok: false, reason: 'tooLarge' };
  switch (messageType(bytes)) {
    case MESSAGE_INITIATION:
      return parseInitiation(bytes);
    case MESSAGE_RESPONSE:
      return parseResponse(bytes);
    case MESSAGE_COOKIE_REPLY:
      return parseCookieReply(bytes);
    case MESSAGE_TRANSPORT:
      return parseTransport(bytes);
    default:
      return { ok: false, reason: bytes.length < 4 ? 'badLength' : 'unknownType' };
  }
}
