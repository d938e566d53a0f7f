/**
 * Whether a certificate holds right now on its own: unexpired, unrevoked, and signed by the
 * network key directly or through admins whose own certificates hold. Duplicate names and
 * addresses are memberView.ts's job; signatures were checked when each certificate was stored.
 */
import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import { type Certificate, subjectOf } from './certificate.js';

/**
 * Longest chain from a member to the network key, counting the member: network → admin → admin →
 * admin → member. Bounded so a verification is a few map lookups and a loop cannot run away.
 */
export const MAX_CHAIN_LENGTH = 4;

export type CertificateStatus =
  | 'valid'
  | 'expired'
  | 'revoked'
  /** No certificate known for the issuing key (it may still arrive by gossip). */
  | 'unknown-issuer'
  | 'issuer-not-admin'
  | 'issuer-expired'
  | 'issuer-revoked'
  /** More than MAX_CHAIN_LENGTH certificates, or issuers that sign each other in a loop. */
  | 'chain-too-long'
  /** A wireguard device whose hosting member is not itself valid. */
  | 'via-invalid';

/** What the chain walk reads from the roster. */
export interface ChainContext {
  readonly networkKey: Uint8Array;
  /** The current certificate of a subject (signing key in base64, or "wg:" + WireGuard key). */
  certificateOf(subject: string): Certificate | undefined;
  /** Revoked by a revocation that counts (standing.ts decides which do). */
  isRevoked(subject: string): boolean;
}

export function certificateStatus(cert: Certificate, ctx: ChainContext, now: number): CertificateStatus {
  const own = walkChain(cert, ctx, now);
  if (own !== 'valid' || cert.kind === 'member') return own;
  // A device is reachable only through its host: a revoked or expired host takes it down too.
  const host = ctx.certificateOf(encodeKey(cert.via!));
  if (host?.kind !== 'member' || walkChain(host, ctx, now) !== 'valid') return 'via-invalid';
  return 'valid';
}

function walkChain(cert: Certificate, ctx: ChainContext, now: number): CertificateStatus {
  let current = cert;
  for (let length = 1; ; length++) {
    const issuerLink = length > 1;
    if (ctx.isRevoked(subjectOf(current))) return issuerLink ? 'issuer-revoked' : 'revoked';
    if (current.notAfter <= now) return issuerLink ? 'issuer-expired' : 'expired';
    if (issuerLink && (current.kind !== 'member' || !current.admin)) return 'issuer-not-admin';
    if (bytesEqual(current.issuer, ctx.networkKey)) return 'valid';
    // Each step follows the one issuer of a certificate, so a loop shows up as an overlong chain.
    if (length >= MAX_CHAIN_LENGTH) return 'chain-too-long';
    const issuer = ctx.certificateOf(encodeKey(current.issuer));
    if (!issuer) return 'unknown-issuer';
    current = issuer;
  }
}
