/**
 * The roster of one network: every certificate, revocation and endpoint record this node holds,
 * and the members they make. It is the RecordStore gossip spreads (core/gossip/recordStore.ts):
 * `offer` verifies everything about a record before keeping it, so a record from any peer is
 * trusted only as far as its signatures and its issuer chain go.
 *
 * Who is out and what is kept is one rule, written out and implemented in standing.ts: it depends
 * only on the records held and the time, never on the order they arrived in, so every node that
 * holds the same records has the same members. In short: the network key's revocations always
 * count and void everything their subject signed; an admin's revocation counts if the admin's chain
 * held at the revocation's own time, and a member's of itself (leave) if its certificate did; no
 * admin's revocation voids another's; a certificate counts if nothing above it is revoked. Records are kept only while they matter, a few per member.
 */
// Long file: one class around one invariant — every offer is judged against the standing cached at
// the held records' generation, and offerCertificate's fast path grows that cache in place, so offers,
// the cache and the queries that read it stay together. Storage is heldRecords.ts, loading from
// disk restoreRecord.ts, the rule itself standing.ts.
import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import { MAX_CLOCK_SKEW_MS } from '../clockSkew.js';
import type { GossipRecord, OfferResult, RecordStore } from '../gossip/recordStore.js';
import { type Certificate, subjectOf } from './certificate.js';
import type { CertificateStatus } from './certificateChain.js';
import {
  decodeEndpointRecord,
  ENDPOINT_RECORD_PREFIX,
  endpointRecordId,
  verifyEndpointRecord,
} from './endpointRecord.js';
import { copyRecord, type Held, HeldRecords, type HeldRevocation } from './heldRecords.js';
import { addToView, conflictsIn, type MemberView } from './memberView.js';
import { canonicalAddress, type Network } from './network.js';
import { certificateFault, readCertificate, readRevocation, revocationFault } from './recordChecks.js';
import { restoreRecord } from './restoreRecord.js';
import type { Revocation } from './revocation.js';
import {
  judge,
  MAX_ADMIN_REVOCATIONS_PER_SUBJECT,
  revokerChainAt,
  type Standing,
  statusUnder,
  stronger,
} from './standing.js';

/** A record must fit one datagram (recordStore.ts). */
export const MAX_RECORD_BYTES = 1000;
/**
 * Admin certificates refused lately, by subject: a revocation that arrives next may need one as
 * its signer's (expired or revoked since), and neither is kept without the other.
 */
const MAX_BACKING_CANDIDATES = 64;

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
  /** Those of `endpoints` its gateway forwards to it (port mapping), by its own signed word. */
  readonly mappedEndpoints: readonly string[];
}

export interface OfferOutcome {
  readonly result: OfferResult;
  /** Why a record was refused or stale: for logs and tests, never shown as proof of anything. */
  readonly reason?: string;
}

interface CachedStanding {
  readonly standing: Standing;
  readonly generation: number;
  readonly computedAt: number;
  /** The earliest notAfter after computedAt: the standing may change then. */
  readonly validUntil: number;
}

const accepted: OfferOutcome = { result: 'accepted' };
const stale = (reason: string): OfferOutcome => ({ result: 'stale', reason });
const invalid = (reason: string): OfferOutcome => ({ result: 'invalid', reason });

export class Roster implements RecordStore {
  /** Every record held, indexed; its generation changes with every record stored or removed. */
  private readonly held = new HeldRecords();
  private readonly backingCandidates = new Map<string, Held<Certificate>>();
  private cached: CachedStanding | undefined;
  /** Records were restored from disk without judging them: the next offer or prune judges all. */
  private unsettled = false;

  constructor(readonly network: Network) {}

  // ---- RecordStore ----

  summaries(): { id: string; version: number }[] {
    return this.held.summaries();
  }

  get(id: string): GossipRecord | undefined {
    return this.held.get(id);
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
    if (id.startsWith(ENDPOINT_RECORD_PREFIX)) return this.offerEndpoints(record, now);
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

  /**
   * Whether a member (by signing key) or a device ("wg:" + WireGuard key) is revoked by a
   * revocation that counts (see "Who is out").
   */
  isRevoked(subject: string, now: number): boolean {
    return this.standing(now).revoked.has(subject);
  }

  /** Every revocation held. */
  revoked(): Revocation[] {
    return [...this.held.revocationsById.values()].map((h) => h.value);
  }

  /** Why a subject's certificate does or does not count right now; undefined if none is held. */
  statusOf(subject: string, now: number): CertificateStatus | 'shadowed' | undefined {
    const held = this.held.certs.get(subject);
    if (!held) return undefined;
    const standing = this.standing(now);
    const status = statusUnder(standing, this.chainInput(), held.value, now);
    if (status !== 'valid') return status;
    return standing.view.bySubject.has(subject) ? 'valid' : 'shadowed';
  }

  /** Every certificate held, valid or not (what toJSON persists, with revocations and endpoints). */
  certificates(): Certificate[] {
    return [...this.held.certs.values()].map((h) => h.value);
  }

  /** Overlay IPv4 addresses of every certificate held, valid or not: an issuer must not reuse them. */
  takenIPv4(): Set<string> {
    return new Set([...this.held.certs.values()].map((h) => h.value.ipv4));
  }

  /** Every record held, for persistence and for sending a newcomer the whole roster. */
  records(): GossipRecord[] {
    return this.summaries().map((s) => this.get(s.id)!);
  }

  /**
   * Drops what is no longer kept (see "What is kept"): certificates that expired or whose chain
   * broke, admin revocations whose subject's certificate went, endpoint records of non-members,
   * so gossip stops spreading what every node refuses. The network key's revocations stay.
   */
  prune(now: number): number {
    return this.settle(this.judgeNow(now), now);
  }

  // ---- offers ----

  private offerCertificate(record: GossipRecord, now: number): OfferOutcome {
    const read = readCertificate(record);
    if (!read.ok) return invalid(read.reason);
    const cert = read.value;
    const subject = subjectOf(cert);
    const old = this.held.certs.get(subject);
    if (old && old.record.version >= record.version) return stale('already have this or a newer certificate');
    const fault = certificateFault(this.network, cert);
    if (fault) return invalid(fault);
    if (this.revokedByNetwork.has(subject)) return invalid('member is revoked');
    // The same budget as sealed messages (core/clockSkew.ts): a member is usable or refused, not both.
    if (cert.issuedAt > now + MAX_CLOCK_SKEW_MS) return invalid('certificate issued in the future');
    const standing = this.standing(now); // fresh from here on: cached at this generation
    // Counts, or would but for its own revocation: what makes a certificate worth keeping, bar one case.
    const status = statusUnder(standing, this.chainInput(cert), cert, now, { ignoreOwnRevocation: true });
    const admin = cert.kind === 'member' && cert.admin;
    if (status !== 'valid' && !(old?.value.kind === 'member' && old.value.admin) && !this.unsettled) {
      // The case: replacing an admin certificate a kept revocation may rely on. No held record
      // relies on another certificate of this subject; a revocation that needs this one may come
      // next, so an admin's is remembered for it.
      if (admin) this.rememberBackingCandidate(subject, cert, record);
      return invalid(`certificate ${status}`);
    }
    const conflicts = conflictsIn(standing.view, cert);

    // The common case, a new member that changes no one else's standing: the view grows by one.
    if (
      status === 'valid' &&
      !old &&
      conflicts.length === 0 &&
      !this.held.dependents.has(subject) &&
      !this.held.revocationsOf.has(subject) &&
      !this.unsettled
    ) {
      this.held.storeCertificate(cert, record);
      addToView(standing.view, cert);
      standing.keptCertificates.add(subject);
      this.cached = {
        ...this.cached!,
        generation: this.held.generation,
        validUntil: Math.min(this.cached!.validUntil, cert.notAfter),
      };
      return accepted;
    }
    const kept = this.tryKeep(
      now,
      () => this.held.storeCertificate(cert, record),
      () => (old ? this.held.storeCertificate(old.value, old.record) : this.held.removeCertificate(subject)),
      (s) => s.keptCertificates.has(subject),
    );
    if (kept) return accepted;
    if (admin) this.rememberBackingCandidate(subject, cert, record);
    return invalid(status === 'valid' ? 'certificate not needed' : `certificate ${status}`);
  }

  private offerRevocation(record: GossipRecord, now: number): OfferOutcome {
    const read = readRevocation(record);
    if (!read.ok) return invalid(read.reason);
    const { value: revocation, subject } = read.value;
    const old = this.held.revocationsById.get(record.id);
    if (old && old.record.version >= record.version) return stale('already revoked');
    const fault = revocationFault(this.network, revocation);
    if (fault) return invalid(fault);
    const held: HeldRevocation = { ...read.value, record: copyRecord(record) };
    if (bytesEqual(revocation.issuer, this.network.key)) {
      this.held.storeRevocation(held);
      this.settle(this.judgeNow(now), now);
      return accepted;
    }

    // An admin's revocation (rule 2) or a member's own (2b): judged at its own time, kept only
    // about a certificate we hold.
    if (this.revokedByNetwork.has(subject)) return stale('already revoked by the network key');
    if (!this.held.certs.has(subject)) return invalid('no certificate of its subject is held');
    const kept = [...(this.held.revocationsOf.get(subject) ?? [])].map(
      (id) => this.held.revocationsById.get(id)!,
    );
    const full = kept.length >= MAX_ADMIN_REVOCATIONS_PER_SUBJECT && !this.unsettled;
    if (full && kept.every((k) => stronger(k, held) < 0))
      return stale(`${kept.length} stronger revocations of its subject are kept`);
    const backing: Held<Certificate>[] = [];
    const chain = revokerChainAt(
      {
        networkKey: this.network.key,
        certificateOf: (s) => {
          const stored = this.held.certs.get(s);
          if (stored) return stored.value;
          const candidate = this.backingCandidates.get(s);
          if (candidate) backing.push(candidate);
          return candidate?.value;
        },
      },
      this.revokedByNetwork,
      revocation,
    );
    if ('fault' in chain) return invalid(`revocation issuer: ${chain.fault}`);
    const keep = this.tryKeep(
      now,
      () => {
        this.held.storeRevocation(held);
        for (const b of backing) this.held.storeCertificate(b.value, b.record);
      },
      () => {
        for (const b of backing) this.held.removeCertificate(subjectOf(b.value));
        this.held.removeRevocation(record.id);
        if (old) this.held.storeRevocation(old);
      },
      (s) => s.keptRevocations.has(record.id),
    );
    if (!keep) return invalid('its subject does not count here, or stronger revocations of it are kept');
    for (const b of backing) this.backingCandidates.delete(subjectOf(b.value));
    return accepted;
  }

  private offerEndpoints(record: GossipRecord, now: number): OfferOutcome {
    const decoded = decodeEndpointRecord(record.bytes);
    if (!decoded.ok) return invalid(`endpoint record: ${decoded.reason}`);
    const r = decoded.value;
    if (endpointRecordId(r.member) !== record.id || r.seq !== record.version)
      return invalid('id or version mismatch');
    const subject = encodeKey(r.member);
    const old = this.held.endpoints.get(subject);
    if (old && old.record.version >= record.version) return stale('already have these or newer endpoints');
    if (!bytesEqual(r.networkKey, this.network.key)) return invalid('endpoints of another network');
    if (this.standing(now).revoked.has(subject)) return invalid('member is revoked');
    if (!this.view(now).bySubject.has(subject)) return invalid('not a current member');
    if (!verifyEndpointRecord(r)) return invalid('bad endpoint record signature');
    this.held.storeEndpoints(subject, r, record);
    return accepted;
  }

  // ---- internals ----

  /** Subjects the network key revoked: no judging needed, its revocation's id is `revoke:<subject>`. */
  private readonly revokedByNetwork = {
    has: (subject: string) => this.held.revocationsById.has(`revoke:${subject}`),
  };

  /** What a chain walk reads; `candidate` is looked up in place of its subject's stored certificate. */
  private chainInput(candidate?: Certificate) {
    const candidateSubject = candidate && subjectOf(candidate);
    return {
      networkKey: this.network.key,
      certificateOf: (s: string) => (s === candidateSubject ? candidate : this.held.certs.get(s)?.value),
    };
  }

  private isFresh(now: number): boolean {
    const c = this.cached;
    return (
      c !== undefined && c.generation === this.held.generation && c.computedAt <= now && now < c.validUntil
    );
  }

  /** The standing of what is held now (cached until a record changes or a certificate expires). */
  private standing(now: number): Standing {
    return this.isFresh(now) ? this.cached!.standing : this.judgeNow(now);
  }

  private judgeNow(now: number): Standing {
    const certs = this.held.certs;
    const standing = judge(
      {
        networkKey: this.network.key,
        certificateOf: (s) => certs.get(s)?.value,
        certificates: [...certs.values()].map((h) => h.value),
        revocations: this.held.revocationsById.values(),
      },
      now,
    );
    this.cached = {
      standing,
      generation: this.held.generation,
      computedAt: now,
      validUntil: standing.validUntil,
    };
    return standing;
  }

  private view(now: number): MemberView {
    return this.standing(now).view;
  }

  /**
   * Applies a change, judges, and keeps the change (dropping whatever it made unneeded) if `kept`
   * says the new record is kept; otherwise undoes it and leaves everything as it was.
   */
  private tryKeep(now: number, apply: () => void, undo: () => void, kept: (s: Standing) => boolean): boolean {
    apply();
    const standing = this.judgeNow(now);
    if (kept(standing)) {
      this.settle(standing, now);
      return true;
    }
    undo();
    this.held.touch();
    return false;
  }

  /** Drops everything `standing` does not keep; returns how many records went. */
  private settle(standing: Standing, now: number): number {
    let removed = 0;
    for (const subject of [...this.held.certs.keys()]) {
      if (standing.keptCertificates.has(subject)) continue;
      this.held.removeCertificate(subject);
      removed++;
    }
    for (const id of [...this.held.revocationsById.keys()]) {
      if (standing.keptRevocations.has(id)) continue;
      this.held.removeRevocation(id);
      removed++;
    }
    for (const subject of [...this.held.endpoints.keys()]) {
      if (standing.view.bySubject.has(subject)) continue;
      this.held.removeEndpoints(subject);
      removed++;
    }
    this.unsettled = false;
    // Nothing dropped changes the standing: what it kept is all it relied on.
    this.held.touch();
    this.cached = {
      standing,
      generation: this.held.generation,
      computedAt: now,
      validUntil: standing.validUntil,
    };
    return removed;
  }

  private rememberBackingCandidate(subject: string, cert: Certificate, record: GossipRecord): void {
    this.backingCandidates.delete(subject);
    this.backingCandidates.set(subject, { value: cert, record: copyRecord(record) });
    if (this.backingCandidates.size > MAX_BACKING_CANDIDATES) {
      this.backingCandidates.delete(this.backingCandidates.keys().next().value!);
    }
  }

  private memberOf(cert: Certificate): Member {
    const subject = subjectOf(cert);
    const ep = cert.kind === 'member' ? this.held.endpoints.get(subject)?.value : undefined;
    return {
      subject,
      certificate: cert,
      endpoints: ep?.endpoints ?? [],
      endpointsSeq: ep?.seq ?? null,
      relay: !ep?.noRelay,
      relayEpoch: ep?.relayEpoch ?? null,
      mappedEndpoints: ep?.mapped ?? [],
    };
  }

  private lookup(subject: string | undefined, now: number): Member | undefined {
    return subject === undefined ? undefined : this.memberBySubject(subject, now);
  }

  /**
   * Loads a record read back from this node's own file: checks what does not change with time
   * (encoding, network, signatures, addresses). Chains and expiry are judged at each query, and
   * the next offer or prune drops what is not kept, as if the records had come by gossip.
   */
  restore(record: GossipRecord): string | undefined {
    if (this.held.byId(record.id)) return 'listed twice';
    this.unsettled = true;
    return restoreRecord(this.held, this.network, record);
  }
}
