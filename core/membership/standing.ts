/**
 * The roster's judgement (roster.ts), as one pure function of the records it holds and the time:
 * who is out, who is a member, and which records are worth keeping. Offers, prune and a roster
 * loaded from disk all reach the same answer from the same records.
 *
 * ## Who is out: the same answer on every node, whatever order the records arrive in
 *
 * Signing times are claims: a revoked admin can date a revocation before its own. So no admin's
 * revocation ever voids another admin's, and only the network key, which nobody can revoke, takes
 * back what an admin signed. The rule (`judge` below; nothing in it depends on arrival):
 *
 * 1. A revocation signed by the network key counts, always. Its subject is out, and nothing it
 *    signed counts, whatever the dates: no certificate or revocation it issued, nor any issued
 *    by an admin whose chain runs through it.
 * 2. A revocation signed by an admin counts if, at its own revokedAt, the admin's certificate and
 *    every one above it were admin member certificates, unexpired, up to the network key, none
 *    revoked under rule 1. Revocations signed by admins are not consulted here.
 *    2b. A revocation signed by its own subject (a member leaving, `overlay leave`) counts if that
 *    member's certificate was unexpired at its revokedAt. Only the holder of a key can sign it, and
 *    it takes out no one but its signer (and, as any revocation of an admin, the members that
 *    admin admitted). It is kept and bounded as an admin's revocation is.
 * 3. A certificate counts now if it and every one above it are unexpired and revoked by nothing
 *    that counts under 1 or 2, whatever the dates (as before: revoking an admin takes down every
 *    member it admitted; judged at signing time instead, a revoked admin could admit backdated
 *    members).
 * 4. No tie is left in who is out. Which records are kept is ordered by earliest revokedAt, then
 *    smallest id; duplicate names and addresses by memberView.ts's "first issued wins".
 *
 * So two admins who revoke each other are both out on every node. A member kicked by an admin
 * stays out when another admin revokes that admin later, and is back when the network key does.
 * A revoked admin can still sign revocations that count (of members whose certificate we hold,
 * dated within its certificate's lifetime), itself or through sub-admins it certifies, until the
 * network key revokes it or anyone above it. It cannot come back, because no revocation of its
 * revoker voids the one against it, and nothing it certifies makes a member. That is the price of
 * claimed times, and the lesser one: with "earliest wins", a revoked admin would backdate a
 * revocation of its revoker and return with full powers. The holder of the network key settles
 * any fight by revoking, with the network key, the admin in the wrong.
 *
 * ## What is kept (bounded; offers, prune and a roster loaded from disk keep the same set)
 *
 * - Every revocation signed by the network key, for ever.
 * - A certificate that counts, or would count were its own subject not revoked: a member revoked
 *   by an admin keeps its certificate here until it expires, as the anchor of its revocations.
 * - The certificates a kept admin revocation relies on (rule 2), even expired or revoked since.
 * - For each subject with a certificate kept, its MAX_ADMIN_REVOCATIONS_PER_SUBJECT strongest
 *   admin revocations that count. An admin's revocation of a key we hold no certificate for is
 *   refused (gossip offers it again once the certificate arrives), so no admin, revoked or not,
 *   can grow this beyond a few records per member, however many sub-admins it mints.
 * - Endpoint records of current members.
 *
 * Everything else is refused or dropped, and offered again by gossip if it becomes relevant. So a
 * certificate dropped because its issuer was revoked by an admin is no longer dropped for ever:
 * once the network key revokes that admin's revoker, it counts again when gossip brings it back.
 * When a revoked member's certificate expires, the admins' revocations of it go too (the network
 * key's stay); its keys could then be certified again, as any new key could.
 *
 * ## Order of evaluation
 *
 * The network key's revocations need nothing. An admin's revocation needs only certificates and
 * the network key's revocations, so it is judged next. A certificate's chain then needs the
 * revocations of the members above it, and theirs of the members above them: the recursion climbs
 * the chain and ends at the network key (or, for issuers that certify each other in a loop, at a
 * subject met twice, whose chain never reaches the network key anyway).
 */
import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import { type Certificate, subjectOf } from './certificate.js';
import { type CertificateStatus, certificateStatus, MAX_CHAIN_LENGTH } from './certificateChain.js';
import { buildView, emptyView, type MemberView } from './memberView.js';
import { isSelfRevocation, type Revocation } from './revocation.js';

/**
 * Admin revocations kept per subject, strongest (earliest, then smallest id) first. Honest admins
 * rarely revoke one member twice; the bound is for a revoked admin that mints sub-admins to sign
 * more ("What is kept").
 */
export const MAX_ADMIN_REVOCATIONS_PER_SUBJECT = 4;

export interface RevocationEntry {
  readonly id: string;
  /** revocationSubject(value). */
  readonly subject: string;
  readonly value: Revocation;
}

export interface StandingInput {
  readonly networkKey: Uint8Array;
  /** The certificate held for a subject, if any. */
  certificateOf(subject: string): Certificate | undefined;
  readonly certificates: Iterable<Certificate>;
  readonly revocations: Iterable<RevocationEntry>;
}

export interface Standing {
  readonly view: MemberView;
  /** Subjects revoked by the network key, or by an admin's revocation that counts. */
  readonly revoked: Set<string>;
  /** Subjects whose held certificate is worth keeping ("What is kept"). */
  readonly keptCertificates: Set<string>;
  /** Ids of the revocations worth keeping. */
  readonly keptRevocations: Set<string>;
  /** The earliest certificate expiry after the time judged: the standing may change then. */
  readonly validUntil: number;
}

/** The chain of an admin's revocation: the subjects that back it, or why it does not count. */
export type IssuerChain = { readonly chain: string[] } | { readonly fault: string };

/**
 * Whether `issuer` could sign a revocation at `at`: its certificate and every one above it are
 * admin member certificates unexpired at `at`, up to the network key, none revoked by the network
 * key. Revocations signed by admins are not consulted (rule 2).
 */
export function issuerChainAt(
  input: Pick<StandingInput, 'networkKey' | 'certificateOf'>,
  revokedByNetwork: { has(subject: string): boolean },
  issuer: Uint8Array,
  at: number,
): IssuerChain {
  const chain: string[] = [];
  let key = issuer;
  for (let length = 1; ; length++) {
    const own = length === 1;
    const subject = encodeKey(key);
    const cert = input.certificateOf(subject);
    if (!cert) return { fault: own ? 'unknown signer' : "signer's certificate unknown-issuer" };
    if (cert.kind !== 'member' || !cert.admin)
      return { fault: own ? 'signer is not an admin' : "signer's certificate issuer-not-admin" };
    if (revokedByNetwork.has(subject))
      return { fault: `signer's certificate ${own ? 'revoked' : 'issuer-revoked'} by the network key` };
    if (cert.notAfter <= at)
      return { fault: `signer's certificate ${own ? 'expired' : 'issuer-expired'} when it signed` };
    chain.push(subject);
    if (bytesEqual(cert.issuer, input.networkKey)) return { chain };
    if (length >= MAX_CHAIN_LENGTH) return { fault: "signer's certificate chain-too-long" };
    key = cert.issuer;
  }
}

/**
 * Whether a revocation not signed by the network key counts: its admin's chain at its revokedAt
 * (rule 2), or, for a member's revocation of itself, that member's certificate (rule 2b).
 */
export function revokerChainAt(
  input: Pick<StandingInput, 'networkKey' | 'certificateOf'>,
  revokedByNetwork: { has(subject: string): boolean },
  r: Revocation,
): IssuerChain {
  if (!isSelfRevocation(r)) return issuerChainAt(input, revokedByNetwork, r.issuer, r.revokedAt);
  const subject = encodeKey(r.subjectKey);
  const cert = input.certificateOf(subject);
  if (!cert) return { fault: 'unknown signer' };
  if (cert.notAfter <= r.revokedAt) return { fault: "signer's certificate expired when it signed" };
  return { chain: [subject] };
}

/** Strongest first: the earliest, then the smallest id, so every node keeps the same ones. */
export function stronger(a: RevocationEntry, b: RevocationEntry): number {
  const t = a.value.revokedAt - b.value.revokedAt;
  if (t !== 0) return t;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function judge(input: StandingInput, now: number): Standing {
  const { networkKey } = input;
  const revokedByNetwork = new Set<string>();
  const keptRevocations = new Set<string>();
  const byAdmins = new Map<string, RevocationEntry[]>();
  for (const r of input.revocations) {
    if (bytesEqual(r.value.issuer, networkKey)) {
      revokedByNetwork.add(r.subject);
      keptRevocations.add(r.id);
    } else {
      const list = byAdmins.get(r.subject) ?? [];
      list.push(r);
      byAdmins.set(r.subject, list);
    }
  }

  // Rules 2 and 2b: an admin's revocation counts if its signer's chain held when it signed; a
  // member's own, if its certificate did.
  const counting = new Map<string, { id: string; chain: string[] }[]>();
  for (const [subject, list] of byAdmins) {
    if (revokedByNetwork.has(subject)) continue;
    const sound: { id: string; chain: string[] }[] = [];
    for (const r of list.sort(stronger)) {
      const judged = revokerChainAt(input, revokedByNetwork, r.value);
      if ('chain' in judged) sound.push({ id: r.id, chain: judged.chain });
      if (sound.length === MAX_ADMIN_REVOCATIONS_PER_SUBJECT) break;
    }
    if (sound.length > 0) counting.set(subject, sound);
  }

  // Rule 3, and the anchors of rule 2: a subject's certificate as it would stand were the subject
  // itself not revoked. Memoized; a subject met again while being judged is in an issuer loop,
  // whose chains never reach the network key, so "not anchored" is the answer either way.
  const anchoredMemo = new Map<string, boolean>();
  const judging = new Set<string>();
  const revokedMemo = new Map<string, boolean>();
  const isRevoked = (subject: string): boolean => {
    let value = revokedMemo.get(subject);
    if (value === undefined) {
      value = revokedByNetwork.has(subject) || (counting.has(subject) && anchored(subject));
      revokedMemo.set(subject, value);
    }
    return value;
  };
  const anchored = (subject: string): boolean => {
    const memo = anchoredMemo.get(subject);
    if (memo !== undefined) return memo;
    if (judging.has(subject)) return false;
    const cert = input.certificateOf(subject);
    if (!cert || revokedByNetwork.has(subject)) {
      anchoredMemo.set(subject, false);
      return false;
    }
    judging.add(subject);
    const status = certificateStatus(
      cert,
      { networkKey, certificateOf: input.certificateOf, isRevoked: (s) => s !== subject && isRevoked(s) },
      now,
    );
    judging.delete(subject);
    anchoredMemo.set(subject, status === 'valid');
    return status === 'valid';
  };

  const keptCertificates = new Set<string>();
  const revoked = new Set(revokedByNetwork);
  const valid: Certificate[] = [];
  let validUntil = Number.POSITIVE_INFINITY;
  for (const cert of input.certificates) {
    if (cert.notAfter > now) validUntil = Math.min(validUntil, cert.notAfter);
    const subject = subjectOf(cert);
    if (!anchored(subject)) continue;
    keptCertificates.add(subject);
    if (isRevoked(subject)) revoked.add(subject);
    else valid.push(cert);
  }
  for (const [subject, list] of counting) {
    if (!anchored(subject)) continue;
    for (const { id, chain } of list) {
      keptRevocations.add(id);
      for (const s of chain) keptCertificates.add(s);
    }
  }
  return {
    view: valid.length === 0 ? emptyView() : buildView(valid),
    revoked,
    keptCertificates,
    keptRevocations,
    validUntil,
  };
}

/** A certificate's status under a standing (its own subject's revocation included). */
export function statusUnder(
  standing: Pick<Standing, 'revoked'>,
  input: Pick<StandingInput, 'networkKey' | 'certificateOf'>,
  cert: Certificate,
  now: number,
  options: { ignoreOwnRevocation?: boolean } = {},
): CertificateStatus {
  const own = options.ignoreOwnRevocation ? subjectOf(cert) : undefined;
  return certificateStatus(
    cert,
    {
      networkKey: input.networkKey,
      certificateOf: input.certificateOf,
      isRevoked: (s) => s !== own && standing.revoked.has(s),
    },
    now,
  );
}
