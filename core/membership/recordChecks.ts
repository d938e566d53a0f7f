/**
 * What the roster checks of a certificate or revocation record on its own, before asking whether
 * it counts: its bytes decode, it is what its gossip id and version say, it belongs to this
 * network and its signature holds. Offers (from gossip) and restore (from this node's file) use
 * the same checks, so a record refused from one is refused from the other. Reading comes first
 * and is cheap, so an offer can tell a record it already holds before verifying a signature.
 */
import { bytesEqual } from '../base/bytes.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import type { Decoded } from './binary.js';
import { type Certificate, certificateId, decodeCertificate, verifyCertificate } from './certificate.js';
import { type Network, networkChecks } from './network.js';
import {
  decodeRevocation,
  type Revocation,
  revocationId,
  revocationSubject,
  verifyRevocation,
} from './revocation.js';

export function readCertificate(record: GossipRecord): Decoded<Certificate> {
  const decoded = decodeCertificate(record.bytes);
  if (!decoded.ok) return { ok: false, reason: `certificate: ${decoded.reason}` };
  const cert = decoded.value;
  if (certificateId(cert) !== record.id || cert.issuedAt !== record.version)
    return { ok: false, reason: 'id or version mismatch' };
  return decoded;
}

/** Network, signature and addresses; undefined if the certificate may be judged. */
export function certificateFault(network: Network, cert: Certificate): string | undefined {
  if (!bytesEqual(cert.networkKey, network.key)) return 'certificate of another network';
  if (!verifyCertificate(cert)) return 'bad signature';
  return networkChecks(network, cert);
}

export interface ReadRevocation {
  readonly value: Revocation;
  /** revocationId(value): the id it is held under. */
  readonly id: string;
  readonly subject: string;
}

/**
 * `legacyId`: also take the id every revocation had before admins' revocations got ids of their
 * own, `revoke:<subject>` (roster files written then).
 */
export function readRevocation(
  record: GossipRecord,
  options: { legacyId?: boolean } = {},
): Decoded<ReadRevocation> {
  const decoded = decodeRevocation(record.bytes);
  if (!decoded.ok) return { ok: false, reason: `revocation: ${decoded.reason}` };
  const value = decoded.value;
  const id = revocationId(value);
  const subject = revocationSubject(value);
  const named = record.id === id || (options.legacyId === true && record.id === `revoke:${subject}`);
  if (!named || value.revokedAt !== record.version) return { ok: false, reason: 'id or version mismatch' };
  return { ok: true, value: { value, id, subject } };
}

/** Network and signature; undefined if the revocation may be judged. */
export function revocationFault(network: Network, r: Revocation): string | undefined {
  if (!bytesEqual(r.networkKey, network.key)) return 'revocation of another network';
  if (!verifyRevocation(r)) return 'bad signature';
  return undefined;
}
