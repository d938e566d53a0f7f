/**
 * The records a roster holds, as stored: certificates by subject, revocations by id and by subject,
 * endpoint records by member, and who depends on whose key — copies of the gossip records they came
 * in, so gossip can hand them on as they were signed. Storing only: what may be kept, and who is a
 * member, is the Roster's to judge (roster.ts, standing.ts).
 *
 * `generation` changes whenever a certificate or revocation is stored or removed — what a standing
 * is computed from — so the Roster knows when its cached standing is stale. Endpoint records change
 * no one's standing and leave it as it is.
 */

import { encodeKey } from '../base/keys.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Certificate, subjectOf } from './certificate.js';
import { ENDPOINT_RECORD_PREFIX, type EndpointRecord } from './endpointRecord.js';
import type { Revocation } from './revocation.js';
import type { RevocationEntry } from './standing.js';

export interface Held<T> {
  readonly value: T;
  readonly record: GossipRecord;
}

export interface HeldRevocation extends Held<Revocation>, RevocationEntry {}

export class HeldRecords {
  private readonly certsBySubject = new Map<string, Held<Certificate>>();
  /** By record id (revocation.ts revocationId); several admins' revocations of a subject may be held. */
  private readonly revocations = new Map<string, HeldRevocation>();
  /** Subject → ids of its revocations held. */
  private readonly revocationIdsOf = new Map<string, Set<string>>();
  private readonly endpointsOf = new Map<string, Held<EndpointRecord>>();
  /** Signing key (base64) → subjects whose certificate names it as issuer or via. */
  private readonly dependentsOf = new Map<string, Set<string>>();
  private changes = 0;

  get certs(): ReadonlyMap<string, Held<Certificate>> {
    return this.certsBySubject;
  }

  get revocationsById(): ReadonlyMap<string, HeldRevocation> {
    return this.revocations;
  }

  get revocationsOf(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.revocationIdsOf;
  }

  get endpoints(): ReadonlyMap<string, Held<EndpointRecord>> {
    return this.endpointsOf;
  }

  get dependents(): ReadonlyMap<string, ReadonlySet<string>> {
    return this.dependentsOf;
  }

  /** Changes whenever what a standing is computed from changes. */
  get generation(): number {
    return this.changes;
  }

  /** Marks the standing stale without storing anything (a change was tried and undone). */
  touch(): void {
    this.changes++;
  }

  summaries(): { id: string; version: number }[] {
    const out: { id: string; version: number }[] = [];
    for (const map of [this.certsBySubject, this.revocations, this.endpointsOf] as Map<
      string,
      Held<unknown>
    >[]) {
      for (const held of map.values()) out.push({ id: held.record.id, version: held.record.version });
    }
    return out;
  }

  get(id: string): GossipRecord | undefined {
    return this.byId(id)?.record;
  }

  byId(id: string): Held<unknown> | undefined {
    if (id.startsWith('cert:')) return this.certsBySubject.get(id.slice(5));
    if (id.startsWith('revoke:')) return this.revocations.get(id);
    if (id.startsWith(ENDPOINT_RECORD_PREFIX))
      return this.endpointsOf.get(id.slice(ENDPOINT_RECORD_PREFIX.length));
    return undefined;
  }

  storeCertificate(cert: Certificate, record: GossipRecord): void {
    const subject = subjectOf(cert);
    this.removeCertificate(subject);
    this.certsBySubject.set(subject, { value: cert, record: copyRecord(record) });
    for (const key of [cert.issuer, cert.via]) {
      if (!key) continue;
      const k = encodeKey(key);
      const set = this.dependentsOf.get(k) ?? new Set<string>();
      set.add(subject);
      this.dependentsOf.set(k, set);
    }
    this.changes++;
  }

  removeCertificate(subject: string): void {
    const held = this.certsBySubject.get(subject);
    if (!held) return;
    this.certsBySubject.delete(subject);
    for (const key of [held.value.issuer, held.value.via]) {
      if (!key) continue;
      const k = encodeKey(key);
      const set = this.dependentsOf.get(k);
      set?.delete(subject);
      if (set?.size === 0) this.dependentsOf.delete(k);
    }
    this.changes++;
  }

  storeRevocation(held: HeldRevocation): void {
    this.removeRevocation(held.id);
    this.revocations.set(held.id, held);
    const ids = this.revocationIdsOf.get(held.subject) ?? new Set<string>();
    ids.add(held.id);
    this.revocationIdsOf.set(held.subject, ids);
    this.changes++;
  }

  removeRevocation(id: string): void {
    const held = this.revocations.get(id);
    if (!held) return;
    this.revocations.delete(id);
    const ids = this.revocationIdsOf.get(held.subject);
    ids?.delete(id);
    if (ids?.size === 0) this.revocationIdsOf.delete(held.subject);
    this.changes++;
  }

  storeEndpoints(subject: string, value: EndpointRecord, record: GossipRecord): void {
    this.endpointsOf.set(subject, { value, record: copyRecord(record) });
  }

  removeEndpoints(subject: string): void {
    this.endpointsOf.delete(subject);
  }
}

/** Records are kept as copies: the caller's buffer may be reused for the next datagram. */
export function copyRecord(r: GossipRecord): GossipRecord {
  return { id: r.id, version: r.version, bytes: r.bytes.slice() };
}
