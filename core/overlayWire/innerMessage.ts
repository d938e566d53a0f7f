/**
 * The messages that travel inside a sealed datagram: a small typed union with a compact binary
 * encoding. Decoding junk yields a typed failure and never throws; every length is bounded by the
 * constants, so a decoded message can never be larger than the datagram it came in.
 */
import { OverlayError } from '../errors.js';
import { ByteReader, ByteWriter, isAscii, utf8Length } from './byteCodec.js';
import {
  INNER_DISCOVERY_FIRST,
  INNER_DISCOVERY_LAST,
  INNER_GOSSIP,
  INNER_JOIN_ACCEPT,
  INNER_JOIN_REJECT,
  INNER_JOIN_REQUEST,
  INVITE_SECRET_SIZE,
  JOIN_REQUEST_ID_SIZE,
  JOIN_SIGNATURE_SIZE,
  MAX_ENDPOINT_LENGTH,
  MAX_ENDPOINTS,
  MAX_INNER_BODY,
  MAX_INVITE_ID_LENGTH,
  MAX_NAME_BYTES,
  MAX_REJECT_DETAIL_BYTES,
  PUBLIC_KEY_SIZE,
} from './constants.js';

/**
 * Why the inviter refused a join. A reason travels as its index here, so new reasons are only ever
 * appended; unknown ones from a newer peer decode as 'other'.
 */
export const JOIN_REJECT_REASONS = [
  'used',
  'expired',
  'revoked',
  'unknown',
  'name-taken',
  'bad-secret',
  'other',
  /** The signing or WireGuard key is already held by a certificate. */
  'key-taken',
  /** The signature does not prove the request's signing key (joinSignature.ts). */
  'bad-signature',
  /** Not a member name (certificate.ts isMemberName). */
  'bad-name',
  /** The keys belong to a member (or device) that was kicked. */
  'kicked',
  /** The sender's clock is outside the skew budget (core/clockSkew.ts). */
  'clock-skew',
] as const;
export type JoinRejectReason = (typeof JOIN_REJECT_REASONS)[number];

export interface GossipInner {
  readonly kind: 'gossip';
  /** An encoded gossip message (core/gossip/gossipMessages.ts); opaque here. */
  readonly body: Uint8Array;
}

export interface JoinRequest {
  readonly kind: 'joinRequest';
  /** Random per join attempt; the inviter answers a retransmission from its cache by this id. */
  readonly requestId: Uint8Array;
  readonly inviteId: string;
  readonly secret: Uint8Array;
  readonly name: string;
  readonly signingPublicKey: Uint8Array;
  readonly listenPort: number;
  /** "host:port" strings the joiner can be reached at, besides the address the request came from. */
  readonly endpoints: readonly string[];
  /** By `signingPublicKey`, over every field but the secret (joinSignature.ts). */
  readonly signature: Uint8Array;
}

export interface JoinAccept {
  readonly kind: 'joinAccept';
  readonly requestId: Uint8Array;
  /** Opaque to the wire: the node encodes certificate, network key and members in it. */
  readonly accept: Uint8Array;
}

export interface JoinReject {
  readonly kind: 'joinReject';
  readonly requestId: Uint8Array;
  readonly reason: JoinRejectReason;
  /** A short human-readable explanation, shown to the joiner; never contains secrets. */
  readonly detail: string;
}

/**
 * Discovery (core/discovery): its encoding starts with its own kind byte in 0x20–0x3f, so the
 * body here is the whole inner message, kind byte included; core/discovery decodes it.
 */
export interface DiscoveryInner {
  readonly kind: 'discovery';
  readonly body: Uint8Array;
}

export type InnerMessage = GossipInner | JoinRequest | JoinAccept | JoinReject | DiscoveryInner;

export type InnerDecodeFailure = 'unknownKind' | 'malformed';
export type InnerDecoded = { ok: true; message: InnerMessage } | { ok: false; reason: InnerDecodeFailure };

/** The fields of a join request its signature covers: all but the secret and the signature. */
export type SignedJoinFields = Pick<
  JoinRequest,
  'requestId' | 'inviteId' | 'name' | 'signingPublicKey' | 'listenPort' | 'endpoints'
>;

/**
 * A join request's signed fields, in the order both the request and its signature
 * (joinSignature.ts) carry them:
 *   request id 16 | invite id: len u8 + ASCII | name: len u8 + UTF-8 | signing key 32
 *   | listen port u16 | endpoint count u8 | each endpoint: len u8 + ASCII
 * The request on the wire is [kind][secret 16][these fields][signature 64].
 */
export function writeJoinFields(w: ByteWriter, f: SignedJoinFields): ByteWriter {
  w.bytes(f.requestId)
    .shortString(f.inviteId)
    .shortString(f.name)
    .bytes(f.signingPublicKey)
    .u16(f.listenPort)
    .u8(f.endpoints.length);
  for (const e of f.endpoints) w.shortString(e);
  return w;
}

/** Largest opaque accept payload: the body minus request id and length. */
export const MAX_ACCEPT_BYTES = MAX_INNER_BODY - JOIN_REQUEST_ID_SIZE - 2;
export const MAX_GOSSIP_BODY = MAX_INNER_BODY;

/**
 * Encodes kind byte and body. Throws only on a message this node built wrongly (a local bug or an
 * unchecked user input), never on anything that came from the network.
 */
export function encodeInnerMessage(message: InnerMessage): Uint8Array {
  const problem = invalidField(message);
  if (problem !== null) {
    throw new OverlayError('EINTERNAL', `cannot encode ${message.kind}: ${problem}`);
  }
  if (message.kind === 'discovery') return message.body.slice();
  const w = new ByteWriter(128);
  switch (message.kind) {
    case 'gossip':
      w.u8(INNER_GOSSIP).bytes(message.body);
      break;
    case 'joinRequest':
      writeJoinFields(w.u8(INNER_JOIN_REQUEST).bytes(message.secret), message).bytes(message.signature);
      break;
    case 'joinAccept':
      w.u8(INNER_JOIN_ACCEPT).bytes(message.requestId).u16(message.accept.length).bytes(message.accept);
      break;
    case 'joinReject':
      w.u8(INNER_JOIN_REJECT)
        .bytes(message.requestId)
        .u8(JOIN_REJECT_REASONS.indexOf(message.reason))
        .shortString(message.detail);
      break;
  }
  return w.finish();
}

export function decodeInnerMessage(bytes: Uint8Array): InnerDecoded {
  if (bytes.length < 1 || bytes.length > MAX_INNER_BODY + 1) return { ok: false, reason: 'malformed' };
  const r = new ByteReader(bytes);
  const kind = r.u8();
  if (kind >= INNER_DISCOVERY_FIRST && kind <= INNER_DISCOVERY_LAST) {
    return { ok: true, message: { kind: 'discovery', body: bytes.slice() } };
  }
  let message: InnerMessage;
  switch (kind) {
    case INNER_GOSSIP: {
      const body = r.rest();
      if (body.length === 0) r.fail();
      message = { kind: 'gossip', body };
      break;
    }
    case INNER_JOIN_REQUEST: {
      const secret = r.take(INVITE_SECRET_SIZE);
      const requestId = r.take(JOIN_REQUEST_ID_SIZE);
      const inviteId = r.shortString(MAX_INVITE_ID_LENGTH, 'ascii');
      const name = r.shortString(MAX_NAME_BYTES, 'utf8');
      const signingPublicKey = r.take(PUBLIC_KEY_SIZE);
      const listenPort = r.u16();
      const count = r.u8();
      if (count > MAX_ENDPOINTS) r.fail();
      const endpoints: string[] = [];
      for (let i = 0; i < count && r.ok; i++) endpoints.push(r.shortString(MAX_ENDPOINT_LENGTH, 'ascii'));
      const signature = r.take(JOIN_SIGNATURE_SIZE);
      message = {
        kind: 'joinRequest',
        requestId,
        inviteId,
        secret,
        name,
        signingPublicKey,
        listenPort,
        endpoints,
        signature,
      };
      break;
    }
    case INNER_JOIN_ACCEPT: {
      const requestId = r.take(JOIN_REQUEST_ID_SIZE);
      const accept = r.take(r.u16());
      message = { kind: 'joinAccept', requestId, accept };
      break;
    }
    case INNER_JOIN_REJECT: {
      const requestId = r.take(JOIN_REQUEST_ID_SIZE);
      const reason = JOIN_REJECT_REASONS[r.u8()] ?? 'other';
      const detail = r.shortString(MAX_REJECT_DETAIL_BYTES, 'utf8');
      message = { kind: 'joinReject', requestId, reason, detail };
      break;
    }
    default:
      return { ok: false, reason: 'unknownKind' };
  }
  if (!r.done || invalidField(message) !== null) return { ok: false, reason: 'malformed' };
  return { ok: true, message };
}

/** The same bounds on both sides, so what we encode always decodes and junk never does. */
function invalidField(m: InnerMessage): string | null {
  switch (m.kind) {
    case 'discovery': {
      const first = m.body[0] ?? 0;
      if (first < INNER_DISCOVERY_FIRST || first > INNER_DISCOVERY_LAST) return 'discovery kind';
      return m.body.length <= MAX_INNER_BODY + 1 ? null : 'discovery body size';
    }
    case 'gossip':
      return m.body.length >= 1 && m.body.length <= MAX_GOSSIP_BODY ? null : 'gossip body size';
    case 'joinRequest':
      if (m.requestId.length !== JOIN_REQUEST_ID_SIZE) return 'request id size';
      if (!isInviteId(m.inviteId)) return 'invite id';
      if (m.secret.length !== INVITE_SECRET_SIZE) return 'secret size';
      if (m.name.length === 0 || utf8Length(m.name) > MAX_NAME_BYTES) return 'name length';
      if (m.signingPublicKey.length !== PUBLIC_KEY_SIZE) return 'signing key size';
      if (!Number.isInteger(m.listenPort) || m.listenPort < 0 || m.listenPort > 0xffff) return 'port';
      if (m.endpoints.length > MAX_ENDPOINTS) return 'too many endpoints';
      if (!m.endpoints.every((e) => e.length > 0 && isAscii(e, MAX_ENDPOINT_LENGTH))) return 'endpoint';
      return m.signature.length === JOIN_SIGNATURE_SIZE ? null : 'signature size';
    case 'joinAccept':
      if (m.requestId.length !== JOIN_REQUEST_ID_SIZE) return 'request id size';
      return m.accept.length <= MAX_ACCEPT_BYTES ? null : 'accept too large';
    case 'joinReject':
      if (m.requestId.length !== JOIN_REQUEST_ID_SIZE) return 'request id size';
      if (!JOIN_REJECT_REASONS.includes(m.reason)) return 'reason';
      return utf8Length(m.detail) <= MAX_REJECT_DETAIL_BYTES ? null : 'detail length';
  }
}

/**
 * A reject's detail as it may be shown on a terminal: printable ASCII only — anything else, escape
 * sequences included, becomes '?' — and at most MAX_REJECT_DETAIL_BYTES. The inviter sends it so;
 * the joiner applies it again, since an inviter (any admin) is not trusted with its terminal.
 */
export function printableDetail(detail: string): string {
  return detail.replace(/[^ -~]/g, '?').slice(0, MAX_REJECT_DETAIL_BYTES);
}

/** Invite ids are short lowercase hex, the form the invite book uses. */
export function isInviteId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_INVITE_ID_LENGTH && /^[0-9a-f]+$/.test(id);
}
