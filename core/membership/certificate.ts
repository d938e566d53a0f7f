/**
 * A member certificate: what binds a name and overlay addresses to a WireGuard key inside one
 * network, signed by the network key or by an admin member. Encoding (version 1), in this order:
 *
 *   version u8 = 1 | kind u8 (0 member, 1 wireguard) | network key 32 | name: len u8 + ASCII
 *   | IPv4 4 | IPv6 16 | WireGuard key 32 | subject key 32 (member: its Ed25519 signing key;
 *   wireguard: `via`, the signing key of the member hosting the device) | flags u8 (bit 0 admin)
 *   | issuedAt u64 ms | notAfter u64 ms | issuer 32 | signature 64
 *
 * The signature is Ed25519 over "overlay cert v1\0" followed by every byte before it, so a
 * signature over a certificate can never be replayed as one over a revocation or an endpoint
 * record (each has its own context string). At most 295 bytes.
 */
import { formatIPv4, formatIPv6, parseIPv4, parseIPv6 } from '../base/ip.js';
import { encodeKey } from '../base/keys.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Decoded, DecodeFailure, decodeWith, Reader, signedMessage, Writer } from './binary.js';
import { publicKeyOf, signDetached, verifyDetached } from './ed25519.js';
import { MembershipError } from './membershipError.js';

export const CERTIFICATE_VERSION = 1;
const CONTEXT = 'overlay cert v1';
const KEY_SIZE = 32;
const SIGNATURE_SIZE = 64;
const ADMIN_FLAG = 0x01;

/** Hostname label rules (RFC 1123 §2.1, lowercase only): the name doubles as a DNS label. */
export const MEMBER_NAME_PATTERN = /^[a-z0-9](-?[a-z0-9])*$/;
export const MEMBER_NAME_MAX = 63;
/** The rule in words, for every message that refuses a name (CLI, inviter, issuer). */
export const MEMBER_NAME_RULE = `1-${MEMBER_NAME_MAX} lowercase letters, digits and single dashes, not starting or ending with a dash`;

export function isMemberName(name: string): boolean {
  return typeof name === 'string' && name.length <= MEMBER_NAME_MAX && MEMBER_NAME_PATTERN.test(name);
}

/**
 * 'member' runs overlay and signs its own records; 'wireguard' is a plain WireGuard device (a
 * phone, a router) that reaches the mesh through the member named by `via`.
 */
export type CertificateKind = 'member' | 'wireguard';

export interface UnsignedCertificate {
  readonly kind: CertificateKind;
  /** The network's Ed25519 public key: its identity. */
  readonly networkKey: Uint8Array;
  readonly name: string;
  /** Canonical text, e.g. "100.80.1.2". */
  readonly ipv4: string;
  /** Canonical RFC 5952 text, e.g. "fd12:3456:789a::6450:102". */
  readonly ipv6: string;
  /** X25519 public key the member's WireGuard sessions use. */
  readonly wireguardKey: Uint8Array;
  /** kind 'member': the member's Ed25519 signing key; kind 'wireguard': null. */
  readonly signingKey: Uint8Array | null;
  /** kind 'wireguard': the hosting member's signing key; kind 'member': null. */
  readonly via: Uint8Array | null;
  readonly admin: boolean;
  /** Wall-clock ms. Also the certificate's gossip version: a re-issue replaces an older one. */
  readonly issuedAt: number;
  /** Wall-clock ms after which the certificate is invalid. */
  readonly notAfter: number;
}

export interface Certificate extends UnsignedCertificate {
  /** The Ed25519 key that signed: the network key or an admin member's signing key. */
  readonly issuer: Uint8Array;
  readonly signature: Uint8Array;
}

/**
 * The stable name of what a certificate is about, shared by its certificate, revocation and
 * endpoint record ids: the signing key for members, "wg:" + the WireGuard key for devices (they
 * have no signing key; the prefix keeps the two key spaces apart).
 */
/** The fields that name a certificate's subject: a member's signing key, or a device's WireGuard key. */
type SubjectFields = Pick<UnsignedCertificate, 'kind' | 'signingKey' | 'wireguardKey'>;

export function subjectOf(cert: SubjectFields): string {
  return cert.kind === 'member' ? encodeKey(cert.signingKey!) : `wg:${encodeKey(cert.wireguardKey)}`;
}

export function certificateId(cert: SubjectFields): string {
  return `cert:${subjectOf(cert)}`;
}

function checkFields(c: UnsignedCertificate, fail: (reason: string) => never): void {
  if (c.kind !== 'member' && c.kind !== 'wireguard') fail('unknown kind');
  if (!(c.networkKey instanceof Uint8Array) || c.networkKey.length !== KEY_SIZE)
    fail('network key is not 32 bytes');
  if (!isMemberName(c.name)) fail(`name ${JSON.stringify(c.name)} is not a valid member name`);
  if (!parseIPv4(c.ipv4)) fail('bad IPv4 address');
  if (!parseIPv6(c.ipv6)) fail('bad IPv6 address');
  if (!(c.wireguardKey instanceof Uint8Array) || c.wireguardKey.length !== KEY_SIZE)
    fail('WireGuard key is not 32 bytes');
  if (c.kind === 'member') {
    if (!(c.signingKey instanceof Uint8Array) || c.signingKey.length !== KEY_SIZE)
      fail('signing key is not 32 bytes');
    if (c.via !== null) fail('a member certificate has no via');
  } else {
    if (c.signingKey !== null) fail('a wireguard device has no signing key');
    if (!(c.via instanceof Uint8Array) || c.via.length !== KEY_SIZE) fail('via is not 32 bytes');
    if (c.admin) fail('a wireguard device cannot be an admin');
  }
  if (!Number.isSafeInteger(c.issuedAt) || c.issuedAt < 0) fail('bad issuedAt');
  if (!Number.isSafeInteger(c.notAfter) || c.notAfter <= c.issuedAt) fail('notAfter is not after issuedAt');
}

function encodeBody(c: UnsignedCertificate, issuer: Uint8Array): Uint8Array {
  checkFields(c, (reason) => {
    throw new MembershipError('EINTERNAL', `cannot encode certificate: ${reason}`);
  });
  return new Writer()
    .u8(CERTIFICATE_VERSION)
    .u8(c.kind === 'member' ? 0 : 1)
    .bytes(c.networkKey, KEY_SIZE)
    .short(new TextEncoder().encode(c.name))
    .bytes(parseIPv4(c.ipv4)!, 4)
    .bytes(parseIPv6(c.ipv6)!, 16)
    .bytes(c.wireguardKey, KEY_SIZE)
    .bytes(c.kind === 'member' ? c.signingKey! : c.via!, KEY_SIZE)
    .u8(c.admin ? ADMIN_FLAG : 0)
    .time(c.issuedAt)
    .time(c.notAfter)
    .bytes(issuer, KEY_SIZE)
    .finish();
}

/** Signs with an Ed25519 secret key (64 bytes, tweetnacl form); the issuer is its public key. */
export function signCertificate(fields: UnsignedCertificate, issuerSecretKey: Uint8Array): Certificate {
  const issuer = publicKeyOf(issuerSecretKey);
  const body = encodeBody(fields, issuer);
  const signature = signDetached(signedMessage(CONTEXT, body), issuerSecretKey);
  return { ...copyFields(fields), issuer, signature };
}

function copyFields(c: UnsignedCertificate): UnsignedCertificate {
  return {
    kind: c.kind,
    networkKey: c.networkKey.slice(),
    name: c.name,
    ipv4: formatIPv4(parseIPv4(c.ipv4) ?? new Uint8Array(4)),
    ipv6: formatIPv6(parseIPv6(c.ipv6) ?? new Uint8Array(16)),
    wireguardKey: c.wireguardKey.slice(),
    signingKey: c.signingKey?.slice() ?? null,
    via: c.via?.slice() ?? null,
    admin: c.admin,
    issuedAt: c.issuedAt,
    notAfter: c.notAfter,
  };
}

export function encodeCertificate(cert: Certificate): Uint8Array {
  const body = encodeBody(cert, cert.issuer);
  const out = new Uint8Array(body.length + SIGNATURE_SIZE);
  out.set(body, 0);
  out.set(cert.signature, body.length);
  return out;
}

/** Strict decode of untrusted bytes; never throws. Does not check the signature (verifyCertificate). */
export function decodeCertificate(bytes: Uint8Array): Decoded<Certificate> {
  return decodeWith(() => {
    const r = new Reader(bytes);
    const version = r.u8('version');
    if (version !== CERTIFICATE_VERSION) throw new DecodeFailure(`unknown certificate version ${version}`);
    const kindByte = r.u8('kind');
    if (kindByte > 1) throw new DecodeFailure(`unknown certificate kind ${kindByte}`);
    const kind: CertificateKind = kindByte === 0 ? 'member' : 'wireguard';
    const networkKey = r.bytes(KEY_SIZE, 'network key');
    const nameBytes = r.short('name');
    // The pattern admits ASCII only, so a byte-for-byte Latin-1 read cannot hide a different name.
    const name = String.fromCharCode(...nameBytes);
    const ipv4 = formatIPv4(r.bytes(4, 'IPv4'));
    const ipv6 = formatIPv6(r.bytes(16, 'IPv6'));
    const wireguardKey = r.bytes(KEY_SIZE, 'WireGuard key');
    const subjectKey = r.bytes(KEY_SIZE, 'subject key');
    const flags = r.u8('flags');
    if ((flags & ~ADMIN_FLAG) !== 0) throw new DecodeFailure('unknown flags');
    const issuedAt = r.time('issuedAt');
    const notAfter = r.time('notAfter');
    const issuer = r.bytes(KEY_SIZE, 'issuer');
    const signature = r.bytes(SIGNATURE_SIZE, 'signature');
    r.end();
    const cert: Certificate = {
      kind,
      networkKey,
      name,
      ipv4,
      ipv6,
      wireguardKey,
      signingKey: kind === 'member' ? subjectKey : null,
      via: kind === 'wireguard' ? subjectKey : null,
      admin: (flags & ADMIN_FLAG) !== 0,
      issuedAt,
      notAfter,
      issuer,
      signature,
    };
    checkFields(cert, (reason) => {
      throw new DecodeFailure(reason);
    });
    return cert;
  });
}

/** True iff `cert.issuer` signed exactly these fields. Says nothing about whether the issuer may. */
export function verifyCertificate(cert: Certificate): boolean {
  if (cert.issuer.length !== KEY_SIZE || cert.signature.length !== SIGNATURE_SIZE) return false;
  let body: Uint8Array;
  try {
    body = encodeBody(cert, cert.issuer);
  } catch {
    return false;
  }
  return verifyDetached(signedMessage(CONTEXT, body), cert.signature, cert.issuer);
}

export function certificateGossip(cert: Certificate): GossipRecord {
  return { id: certificateId(cert), version: cert.issuedAt, bytes: encodeCertificate(cert) };
}
