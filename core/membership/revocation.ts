/**
 * A signed revocation: the network key or an admin says a member (by its signing key) or a plain
 * WireGuard device (by its WireGuard key) is out, for good. Encoding (version 1):
 *
 *   version u8 = 1 | network key 32 | subject kind u8 (0 signing key, 1 WireGuard key)
 *   | subject key 32 | revokedAt u64 ms | issuer 32 | signature 64
 *
 * Ed25519 over "overlay revocation v1\0" + every byte before the signature. 170 bytes.
 */
import { createHash } from 'node:crypto';
import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Decoded, DecodeFailure, decodeWith, Reader, signedMessage, Writer } from './binary.js';
import { publicKeyOf, signDetached, verifyDetached } from './ed25519.js';
import { MembershipError } from './membershipError.js';

export const REVOCATION_VERSION = 1;
const CONTEXT = 'overlay revocation v1';
const KEY_SIZE = 32;
const SIGNATURE_SIZE = 64;

export type RevocationSubjectKind = 'signing' | 'wireguard';

export interface UnsignedRevocation {
  readonly networkKey: Uint8Array;
  /** 'signing' revokes a member by its Ed25519 key; 'wireguard' a device by its X25519 key. */
  readonly subjectKind: RevocationSubjectKind;
  readonly subjectKey: Uint8Array;
  /** Wall-clock ms; the gossip version. */
  readonly revokedAt: number;
}

export interface Revocation extends UnsignedRevocation {
  readonly issuer: Uint8Array;
  readonly signature: Uint8Array;
}

/** Same subject naming as certificate.ts's subjectOf, so a revocation finds its certificate. */
export function revocationSubject(r: UnsignedRevocation): string {
  return r.subjectKind === 'signing' ? encodeKey(r.subjectKey) : `wg:${encodeKey(r.subjectKey)}`;
}

/**
 * The network key's revocation of a subject is `revoke:<subject>`. An admin's is named by its
 * subject and its signer together, so that revocations of one subject by different admins are
 * different records and gossip, which keeps one record per id, never drops one for another
 * (standing.ts, "What is kept"). Two keys do not fit in a 64-character id, so they are hashed.
 */
export function revocationId(r: UnsignedRevocation & { readonly issuer: Uint8Array }): string {
  if (bytesEqual(r.issuer, r.networkKey)) return `revoke:${revocationSubject(r)}`;
  const digest = createHash('blake2s256')
    .update('overlay revocation id\0')
    .update(Uint8Array.of(r.subjectKind === 'signing' ? 0 : 1))
    .update(r.subjectKey)
    .update(r.issuer)
    .digest('base64url');
  return `revoke:${digest}`;
}

function encodeBody(r: UnsignedRevocation, issuer: Uint8Array): Uint8Array {
  const bad = (reason: string) => new MembershipError('EINTERNAL', `cannot encode revocation: ${reason}`);
  if (r.subjectKind !== 'signing' && r.subjectKind !== 'wireguard') throw bad('unknown subject kind');
  if (!Number.isSafeInteger(r.revokedAt) || r.revokedAt < 0) throw bad('bad revokedAt');
  try {
    return new Writer()
      .u8(REVOCATION_VERSION)
      .bytes(r.networkKey, KEY_SIZE)
      .u8(r.subjectKind === 'signing' ? 0 : 1)
      .bytes(r.subjectKey, KEY_SIZE)
      .time(r.revokedAt)
      .bytes(issuer, KEY_SIZE)
      .finish();
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
}

export function signRevocation(fields: UnsignedRevocation, issuerSecretKey: Uint8Array): Revocation {
  const issuer = publicKeyOf(issuerSecretKey);
  const body = encodeBody(fields, issuer);
  return {
    networkKey: fields.networkKey.slice(),
    subjectKind: fields.subjectKind,
    subjectKey: fields.subjectKey.slice(),
    revokedAt: fields.revokedAt,
    issuer,
    signature: signDetached(signedMessage(CONTEXT, body), issuerSecretKey),
  };
}

export function encodeRevocation(r: Revocation): Uint8Array {
  const body = encodeBody(r, r.issuer);
  const out = new Uint8Array(body.length + SIGNATURE_SIZE);
  out.set(body, 0);
  out.set(r.signature, body.length);
  return out;
}

/** Strict decode of untrusted bytes; never throws. Does not check the signature. */
export function decodeRevocation(bytes: Uint8Array): Decoded<Revocation> {
  return decodeWith(() => {
    const r = new Reader(bytes);
    const version = r.u8('version');
    if (version !== REVOCATION_VERSION) throw new DecodeFailure(`unknown revocation version ${version}`);
    const networkKey = r.bytes(KEY_SIZE, 'network key');
    const kind = r.u8('subject kind');
    if (kind > 1) throw new DecodeFailure(`unknown subject kind ${kind}`);
    const subjectKey = r.bytes(KEY_SIZE, 'subject key');
    const revokedAt = r.time('revokedAt');
    const issuer = r.bytes(KEY_SIZE, 'issuer');
    const signature = r.bytes(SIGNATURE_SIZE, 'signature');
    r.end();
    return {
      networkKey,
      subjectKind: kind === 0 ? 'signing' : 'wireguard',
      subjectKey,
      revokedAt,
      issuer,
      signature,
    } satisfies Revocation;
  });
}

/**
 * A member's revocation of itself (`overlay leave`): signed by the very signing key it revokes.
 * standing.ts judges it as it judges an admin's (rule 2b).
 */
export function isSelfRevocation(r: Revocation): boolean {
  return r.subjectKind === 'signing' && bytesEqual(r.issuer, r.subjectKey);
}

/** True iff `r.issuer` signed exactly these fields. Says nothing about whether the issuer may. */
export function verifyRevocation(r: Revocation): boolean {
  if (r.issuer.length !== KEY_SIZE || r.signature.length !== SIGNATURE_SIZE) return false;
  let body: Uint8Array;
  try {
    body = encodeBody(r, r.issuer);
  } catch {
    return false;
  }
  return verifyDetached(signedMessage(CONTEXT, body), r.signature, r.issuer);
}

export function revocationGossip(r: Revocation): GossipRecord {
  return { id: revocationId(r), version: r.revokedAt, bytes: encodeRevocation(r) };
}
