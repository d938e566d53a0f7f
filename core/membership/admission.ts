/**
 * Who may be given a new certificate: a name and keys that nobody holds. "Holds" is wider than
 * "is a member": a certificate that expired but is still held, one shadowed by an earlier
 * conflicting one, one whose issuer chain broke, and a subject that was kicked all keep their
 * name and keys. Nothing a node once answered to passes to someone else, and no certificate is
 * ever issued over another: a join that named an admin's signing key used to re-issue the admin's
 * certificate to the joiner (issue 10).
 */
import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import type { Certificate } from './certificate.js';
import type { RetiredMembers } from './retiredMembers.js';
import type { Roster } from './roster.js';

export type AdmissionRefusalReason = 'name-taken' | 'key-taken' | 'kicked';

export interface AdmissionRefusal {
  readonly reason: AdmissionRefusalReason;
  /** One line for the one refused, in printable ASCII; names only what it asked for. */
  readonly detail: string;
}

/** What a new certificate would bind: a member's signing key, or null for a WireGuard device. */
export interface Candidate {
  readonly name: string;
  readonly wireguardKey: Uint8Array;
  readonly signingKey: Uint8Array | null;
}

/**
 * Why `candidate` may not be issued a certificate in `roster`, or undefined if it may. `retired`
 * adds the names and WireGuard keys of kicked members, which their revocations do not name.
 * Expects a valid member name (certificate.ts isMemberName): it is quoted in the detail.
 */
export function admissionRefusal(
  roster: Roster,
  candidate: Candidate,
  now: number,
  retired?: RetiredMembers,
): AdmissionRefusal | undefined {
  const { name, wireguardKey, signingKey } = candidate;
  const kicked = (what: string): AdmissionRefusal => ({
    reason: 'kicked',
    detail: `${what} belongs to a node that was kicked from the network; join with new keys`,
  });
  if (signingKey && roster.isRevoked(encodeKey(signingKey), now)) return kicked('this signing key');
  if (roster.isRevoked(`wg:${encodeKey(wireguardKey)}`, now) || retired?.hasWireguardKey(wireguardKey)) {
    return kicked('this WireGuard key');
  }
  if (signingKey && bytesEqual(signingKey, roster.network.key)) {
    return { reason: 'key-taken', detail: 'the signing key is the network key' };
  }
  const holder = (test: (c: Certificate) => boolean) => roster.certificates().find(test)?.name;
  const bySigningKey =
    signingKey && holder((c) => c.signingKey !== null && bytesEqual(c.signingKey, signingKey));
  if (bySigningKey) {
    return {
      reason: 'key-taken',
      detail: `this signing key already holds the certificate of "${bySigningKey}"`,
    };
  }
  const byWireguardKey = holder((c) => bytesEqual(c.wireguardKey, wireguardKey));
  if (byWireguardKey) {
    return { reason: 'key-taken', detail: `this WireGuard key already belongs to "${byWireguardKey}"` };
  }
  if (holder((c) => c.name === name) !== undefined) {
    return { reason: 'name-taken', detail: `the name "${name}" is taken by another member` };
  }
  if (retired?.hasName(name)) {
    return { reason: 'name-taken', detail: `the name "${name}" is taken by a member that was kicked` };
  }
  return undefined;
}
