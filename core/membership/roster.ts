/**
 * The roster of one network: every certificate, revocation and endpoint record this node holds,
 * and the members they make. It is the RecordStore gossip spreads (core/gossip/recordStore.ts):
 * `offer` verifies everything about a record before keeping it, so a record from any peer is
 * trusted only as far as its signatures and its issuer chain go.
 */
import type { GossipRecord, OfferResult, RecordStore } from '../gossip/recordStore.js';
import { encodeKey } from '../identity/keys.js';
import { bytesEqual } from './binary.js';
import {
  type Certificate,
  certificateId,
  decodeCertificate,
  subjectOf,
  verifyCertificate,
} from './certificate.js';
import { type CertificateStatus, certificateStatus, isPermanentlyInvalid } from './certificateChain.js';
import {
  decodeEndpointRecord,
  type EndpointRecord,
  endpointRecordId,
  verifyEndpointRecord,
} from './endpointRecord.js';
import { addToView, buildView, conflictsIn, emptyView, type MemberView, precedes } from './memberView.js';
import { canonicalAddress, type Network, networkChecks } from './network.js';
import {
  decodeRevocation,
  type Revocation,
  revocationId,
  revocationSubject,
  verifyRevocation,
} from './revocation.js';

/** A record must fit one datagram (recordStore.ts). */
export const MAX_RECORD_BYTES = 1000;
/** How far in the future a certificate's issuedAt may be: covers clocks a few minutes apart. */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000;

export interface Member {
  /** The signing key in base64, or "wg:" + WireGuard key for a plain WireGuard device. */
  readonly subject: string;
  readonly certificate: Certificate;
  /** The member's own signed endpoints, newest known; [] if none yet (and always for devices). */
  readonly endpoints: readonly string[];
  readonly endpointsSeq: number | null;
  /** False when the member's endpoint record says it relays for no one (--no-relay). */
  readonly relay: boolean;
  /** The relay epoch of the member's running data path, from its endpoint record; null if none. */
  readonly relayEpoch: Uint8Array | null;
}

export interface OfferOutcome {
  readonly result: OfferResult;
  /** Why a record was refused or stale: for logs and tests, never shown as proof of anything. */
  readonly reason?: string;
}

interface Held<T> {
  readonly value: T;
  readonly record: GossipRecord;
}

interface CachedView {
  readonly view: MemberView;
  readonly generation: number;
  readonly computedAt: number;
  /** The earliest notAfter after computedAt: the view may change then. */
  readonly validUntil: number;
}

const accepted: OfferOutcome = { result: 'accepted' };
const stale = (reason: string): OfferOutcome => ({ result: 'stale', reason });
const invalid = (reason: string): OfferOutcome => ({ result: 'invalid', reason });

export class Roster implements RecordStore {
  private readonly certs = new Map<string, Held<Certificate>>();
  private readonly revocations = new Map<string, Held<Revocation>>();
  private readonly endpoints = new Map<string, Held<EndpointRecord>>();
  /** Signing key (base64) → subjects whose certificate names it as issuer or via. */
  private readonly dependents = new Map<string, Set<string>>();
  private generation = 0;
  private cached: CachedView | undefined;

  constructor(readonly network: Network) {}

  // ---- RecordStore ----

  summaries(): { id: string; version: number }[] {
    const out: { id: string; version: number }[] = [];
    for (const map of [this.certs, this.revocations, this.endpoints] as Map<string, Held<unknown>>[]) {
      for (const held of map.values()) out.push({ id: held.record.id, version: held.record.version });
    }
    return out;
  }

  get(id: string): GossipRecord | undefined {
    return this.heldById(id)?.record;
  }

  offer(record: GossipRecord, now: number): OfferResult {
    return this.offerDetailed(record, now).result;
  }

  /** `offer`, with the reason a record was refused. */
  offerDetailed(record: GossipRecord, now: number): OfferOutcome {
    if (typeof record !== 'object' || record === null) return invalid('not a record');
    const { id, version, bytes } = record;
    if (typeof id !== 'string' || !Number.isSafeInteger(version) || !(bytes instanceof Uint8Array)) {
      return invalid('malformed record');
    }
    if (bytes.length > MAX_RECORD_BYTES) return invalid('record too large');
    if (id.startsWith('cert:')) return this.offerCertificate(record, now);
    if (id.startsWith('revoke:')) return this.offerRevocation(record, now);
    if (id.startsWith('endpoints:')) return this.offerEndpoints(record, now);
    return invalid('unknown record kind');
  }

  // ---- queries ----

  /** Valid, unrevoked members holding what their certificates claim, by name. */
  members(now: number): Member[] {
    const view = this.view(now);
    return [...view.bySubject.values()]
      .map((cert) => this.memberOf(cert))
      .sort((a, b) => (a.certificate.name < b.certificate.name ? -1 : 1));
  }

  memberBySubject(subject: string, now: number): Member | undefined {
    const cert = this.view(now).bySubject.get(subject);
    return cert && this.memberOf(cert);
  }

  memberBySigningKey(key: Uint8Array, now: number): Member | undefined {
    return this.memberBySubject(encodeKey(key), now);
  }

  memberByWireguardKey(key: Uint8Array, now: number): Member | undefined {
    return this.lookup(this.view(now).byWireguardKey.get(encodeKey(key)), now);
  }

  memberByName(name: string, now: number): Member | undefined {
    return this.lookup(this.view(now).byName.get(name), now);
  }

  /** By overlay IPv4 or IPv6 address, in any valid spelling. */
  memberByAddress(address: string, now: number): Member | undefined {
    const canonical = canonicalAddress(address);
    if (canonical === undefined) return undefined;
    const view = this.view(now);
    return this.lookup(view.byIPv4.get(canonical) ?? view.byIPv6.get(canonical), now);
  }

  /** Whether a WireGuard handshake from this key may complete. */
  isAllowed(wireguardKey: Uint8Array, now: number): boolean {
    return this.memberByWireguardKey(wireguardKey, now) !== undefined;
  }

  /** Whether a member (by signing key) or a device (by WireGuard key) has been revoked. */
  isRevoked(subject: string): boolean {
    return this.revocations.has(subject);
  }

  /** Every revocation held. */
  revoked(): Revocation[] {
    return [...this.revocations.values()].map((h) => h.value);
  }

  /** Why a subject's certificate does or does not count right now; undefined if none is held. */
  statusOf(subject: string, now: number): CertificateStatus | 'shadowed' | undefined {
    const held = this.certs.get(subject);
    if (!held) return undefined;
    const status = this.chainStatus(held.value, now);
    if (status !== 'valid') return status;
    return this.view(now).bySubject.has(subject) ? 'valid' : 'shadowed';
  }

  /** Every certificate held, valid or not (what toJSON persists, with revocations and endpoints). */
  certificates(): Certificate[] {
    return [...this.certs.values()].map((h) => h.value);
  }

  /** Overlay IPv4 addresses of every certificate held, valid or not: an issuer must not reuse them. */
  takenIPv4(): Set<string> {
    return new Set([...this.certs.values()].map((h) => h.value.ipv4));
  }

  /** Every record held, for persistence and for sending a newcomer the whole roster. */
  records(): GossipRecord[] {
    return this.summaries().map((s) => this.get(s.id)!);
  }

  /**
   * Drops certificates that no longer hold (expired, or through a chain that broke) and endpoint
   * records of members without a certificate, so gossip stops spreading what every node refuses.
   * Revocations stay forever: dropping one would let its certificate back in.
   */
  prune(now: number): number {
    let removed = 0;
    for (const [subject, held] of [...this.certs]) {
      if (this.chainStatus(held.value, now) !== 'valid') {
        this.removeCertificate(subject);
        removed++;
      }
    }
    for (const subject of [...this.endpoints.keys()]) {
      if (!this.certs.has(subject)) {
        this.endpoints.delete(subject);
        removed++;
      }
    }
    if (removed > 0) this.generation++;
    return removed;
  }

  // ---- offers ----

  private offerCertificate(record: GossipRecord, now: number): OfferOutcome {
    const decoded = decodeCertificate(record.bytes);
    if (!decoded.ok) return invalid(`certificate: ${decoded.reason}`);
    const cert = decoded.value;
    if (certificateId(cert) !== record.id || cert.issuedAt !== record.version)
      return invalid('id or version mismatch');
    const subject = subjectOf(cert);
    const old = this.certs.get(subject);
    if (old && old.record.version >= record.version) return stale('already have this or a newer certificate');
    if (!bytesEqual(cert.networkKey, this.network.key)) return invalid('certificate of another network');
    if (!verifyCertificate(cert)) return invalid('bad certificate signature');
    const fault = networkChecks(this.network, cert);
    if (fault) return invalid(fault);
    if (this.revocations.has(subject)) return invalid('member is revoked');
    if (cert.issuedAt > now + MAX_CLOCK_SKEW_MS) return invalid('certificate issued in the future');
    const status = this.chainStatus(cert, now, cert);
    if (status !== 'valid') return invalid(`certificate ${status}`);
    const view = this.view(now);
    const conflicts = conflictsIn(view, cert);
    const winner = conflicts.find((other) => precedes(other, cert));
    if (winner)
      return invalid(`${winner.name} (${winner.ipv4}) was issued first with the same name, address or key`);

    // The view grows by one unless the new certificate changes anyone else's standing.
    const simple = !old && conflicts.length === 0 && !this.dependents.has(subject) && this.isFresh(now);
    this.storeCertificate(cert, record);
    if (simple && this.cached) {
      addToView(this.cached.view, cert);
      this.cached = {
        ...this.cached,
        generation: this.generation,
        validUntil: Math.min(this.cached.validUntil, cert.notAfter),
      };
    }
    return accepted;
  }

  private offerRevocation(record: GossipRecord, now: number): OfferOutcome {
    const decoded = decodeRevocation(record.bytes);
    if (!decoded.ok) return invalid(`revocation: ${decoded.reason}`);
    const revocation = decoded.value;
    if (revocationId(revocation) !== record.id || revocation.revokedAt !== record.version) {
      return invalid('id or version mismatch');
    }
    const subject = revocationSubject(revocation);
    const old = this.revocations.get(subject);
    if (old && old.record.version >= record.version) return stale('already revoked');
    if (!bytesEqual(revocation.networkKey, this.network.key)) return invalid('revocation of another network');
    if (!verifyRevocation(revocation)) return invalid('bad revocation signature');
    const issuerFault = this.issuerFault(revocation.issuer, now);
    if (issuerFault) return invalid(`revocation issuer: ${issuerFault}`);

    this.revocations.set(subject, { value: revocation, record: copyRecord(record) });
    this.removeCertificate(subject);
    this.endpoints.delete(subject);
    // Certificates issued by the revoked admin (or hosted by the revoked member) can never hold again.
    for (const [other, held] of [...this.certs]) {
      if (isPermanentlyInvalid(this.chainStatus(held.value, now))) {
        this.removeCertificate(other);
        this.endpoints.delete(other);
      }
    }
    this.generation++;
    return accepted;
  }

  private offerEndpoints(record: GossipRecord, now: number): OfferOutcome {
    const decoded = decodeEndpointRecord(record.bytes);
    if (!decoded.ok) return invalid(`endpoint record: ${decoded.reason}`);
    const r = decoded.value;
    if (endpointRecordId(r.member) !== record.id || r.seq !== record.version)
      return invalid('id or version mismatch');
    const subject = encodeKey(r.member);
    const old = this.endpoints.get(subject);
    if (old && old.record.version >= record.version) return stale('already have these or newer endpoints');
    if (!bytesEqual(r.networkKey, this.network.key)) return invalid('endpoints of another network');
    if (this.revocations.has(subject)) return invalid('member is revoked');
    if (!this.view(now).bySubject.has(subject)) return invalid('not a current member');
    if (!verifyEndpointRecord(r)) return invalid('bad endpoint record signature');
    this.endpoints.set(subject, { value: r, record: copyRecord(record) });
    return accepted;
  }

  // ---- internals ----

  /** Why a key may not sign certificates or revocations now; undefined if it may. */
  private issuerFault(issuer: Uint8Array, now: number): string | undefined {
    if (bytesEqual(issuer, this.network.key)) return undefined;
    const held = this.certs.get(encodeKey(issuer));
    if (!held) return 'unknown signer';
    if (held.value.kind !== 'member' || !held.value.admin) return 'signer is not an admin';
    const status = this.chainStatus(held.value, now);
    return status === 'valid' ? undefined : `signer's certificate ${status}`;
  }

  /** `candidate` is looked up in place of the stored certificate of its subject, if any. */
  private chainStatus(cert: Certificate, now: number, candidate?: Certificate): CertificateStatus {
    const candidateSubject = candidate && subjectOf(candidate);
    return certificateStatus(
      cert,
      {
        networkKey: this.network.key,
        certificateOf: (s) => (s === candidateSubject ? candidate : this.certs.get(s)?.value),
        isRevoked: (s) => this.revocations.has(s),
      },
      now,
    );
  }

  private isFresh(now: number): boolean {
    const c = this.cached;
    return c !== undefined && c.generation === this.generation && c.computedAt <= now && now < c.validUntil;
  }

  private view(now: number): MemberView {
    if (this.isFresh(now)) return this.cached!.view;
    const valid: Certificate[] = [];
    let validUntil = Number.POSITIVE_INFINITY;
    for (const held of this.certs.values()) {
      const cert = held.value;
      if (cert.notAfter > now) validUntil = Math.min(validUntil, cert.notAfter);
      if (this.chainStatus(cert, now) === 'valid') valid.push(cert);
    }
    const view = valid.length === 0 ? emptyView() : buildView(valid);
    this.cached = { view, generation: this.generation, computedAt: now, validUntil };
    return view;
  }

  private memberOf(cert: Certificate): Member {
    const subject = subjectOf(cert);
    const ep = cert.kind === 'member' ? this.endpoints.get(subject)?.value : undefined;
    return {
      subject,
      certificate: cert,
      endpoints: ep?.endpoints ?? [],
      endpointsSeq: ep?.seq ?? null,
      relay: !ep?.noRelay,
      relayEpoch: ep?.relayEpoch ?? null,
    };
  }

  private lookup(subject: string | undefined, now: number): Member | undefined {
    return subject === undefined ? undefined : this.memberBySubject(subject, now);
  }

  private heldById(id: string): Held<unknown> | undefined {
    if (id.startsWith('cert:')) return this.certs.get(id.slice(5));
    if (id.startsWith('revoke:')) return this.revocations.get(id.slice(7));
    if (id.startsWith('endpoints:')) return this.endpoints.get(id.slice(10));
    return undefined;
  }

  private storeCertificate(cert: Certificate, record: GossipRecord): void {
    const subject = subjectOf(cert);
    this.removeCertificate(subject);
    this.certs.set(subject, { value: cert, record: copyRecord(record) });
    for (const key of [cert.issuer, cert.via]) {
      if (!key) continue;
      const k = encodeKey(key);
      const set = this.dependents.get(k) ?? new Set<string>();
      set.add(subject);
      this.dependents.set(k, set);
    }
    this.generation++;
  }

  private removeCertificate(subject: string): void {
    const held = this.certs.get(subject);
    if (!held) return;
    this.certs.delete(subject);
    for (const key of [held.value.issuer, held.value.via]) {
      if (!key) continue;
      const k = encodeKey(key);
      const set = this.dependents.get(k);
      set?.delete(subject);
      if (set?.size === 0) this.dependents.delete(k);
    }
    this.generation++;
  }

  /**
   * Loads a record read back from this node's own file: checks what does not change with time
   * (encoding, network, signatures, addresses). Chains and expiry are judged at each query.
   */
  restore(record: GossipRecord): string | undefined {
    if (this.heldById(record.id)) return 'listed twice';
    if (record.id.startsWith('cert:')) {
      const d = decodeCertificate(record.bytes);
      if (!d.ok) return d.reason;
      const cert = d.value;
      if (certificateId(cert) !== record.id || cert.issuedAt !== record.version)
        return 'id or version mismatch';
      if (!bytesEqual(cert.networkKey, this.network.key)) return 'certificate of another network';
      if (!verifyCertificate(cert)) return 'bad signature';
      const fault = networkChecks(this.network, cert);
      if (fault) return fault;
      this.storeCertificate(cert, record);
      return undefined;
    }
    if (record.id.startsWith('revoke:')) {
      const d = decodeRevocation(record.bytes);
      if (!d.ok) return d.reason;
      const r = d.value;
      if (revocationId(r) !== record.id || r.revokedAt !== record.version) return 'id or version mismatch';
      if (!bytesEqual(r.networkKey, this.network.key)) return 'revocation of another network';
      if (!verifyRevocation(r)) return 'bad signature';
      this.revocations.set(revocationSubject(r), { value: r, record: copyRecord(record) });
      this.generation++;
      return undefined;
    }
    if (record.id.startsWith('endpoints:')) {
      const d = decodeEndpointRecord(record.bytes);
      if (!d.ok) return d.reason;
      const r = d.value;
      if (endpointRecordId(r.member) !== record.id || r.seq !== record.version)
        return 'id or version mismatch';
      if (!bytesEqual(r.networkKey, this.network.key)) return 'endpoints of another network';
      if (!verifyEndpointRecord(r)) return 'bad signature';
      this.endpoints.set(encodeKey(r.member), { value: r, record: copyRecord(record) });
      return undefined;
    }
    return 'unknown record kind';
  }
}

/** Records are kept as copies: the caller's buffer may be reused for the next datagram. */
function copyRecord(r: GossipRecord): GossipRecord {
  return { id: r.id, version: r.version, bytes: r.bytes.slice() };
}
