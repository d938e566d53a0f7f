/**
 * The names and WireGuard keys of members that were kicked. A member's revocation names only its
 * signing key (a device's, its WireGuard key), and the revocation deletes its certificate, so
 * without this ledger an inviter would forget the rest: the kicked node could come back under its
 * old WireGuard key with a fresh signing key, or someone else could take its name.
 *
 * The ledger is fed where a certificate is about to go: by the kick this node signs (admin.ts)
 * and by revocations gossip brings while this node still holds the certificate (`retiringStore`).
 * A node that never held a kicked member's certificate cannot know its name or WireGuard key;
 * its signing key stays refused through the revocation all the same. Expired certificates are
 * not retired: once pruned, their name is free again.
 */
import { encodeKey } from '../base/keys.js';
import type { GossipRecord, OfferResult, RecordStore } from '../gossip/recordStore.js';
import { decodeKey } from '../identity/keys.js';
import { type Certificate, isMemberName, subjectOf } from './certificate.js';
import { MembershipError } from './membershipError.js';
import { decodeRevocation, revocationSubject } from './revocation.js';
import type { Roster } from './roster.js';

/**
 * Kicks are signed by admins, never by strangers, but the ledger is bounded anyway: past this,
 * the oldest entries are forgotten (their signing keys stay revoked in the roster).
 */
export const MAX_RETIRED = 4096;

export interface RetiredJSON {
  name: string;
  wireguardKey: string;
}

export class RetiredMembers {
  /** By WireGuard key (base64), in insertion order for eviction. */
  private readonly byKey = new Map<string, string>();
  private readonly names = new Map<string, number>();

  note(cert: Pick<Certificate, 'name' | 'wireguardKey'>): void {
    const key = encodeKey(cert.wireguardKey);
    if (this.byKey.has(key)) return;
    if (this.byKey.size >= MAX_RETIRED) {
      const [oldKey, oldName] = this.byKey.entries().next().value as [string, string];
      this.byKey.delete(oldKey);
      const left = (this.names.get(oldName) ?? 1) - 1;
      if (left > 0) this.names.set(oldName, left);
      else this.names.delete(oldName);
    }
    this.byKey.set(key, cert.name);
    this.names.set(cert.name, (this.names.get(cert.name) ?? 0) + 1);
  }

  hasName(name: string): boolean {
    return this.names.has(name);
  }

  hasWireguardKey(key: Uint8Array): boolean {
    return this.byKey.has(encodeKey(key));
  }

  get size(): number {
    return this.byKey.size;
  }

  toJSON(): RetiredJSON[] {
    return [...this.byKey].map(([wireguardKey, name]) => ({ name, wireguardKey }));
  }

  /** Throws ESTORE_CORRUPT naming the entry; `where` names the file. */
  static fromJSON(value: unknown, where: string): RetiredMembers {
    const corrupt = (what: string) => new MembershipError('ESTORE_CORRUPT', `${where}: ${what}`);
    if (!Array.isArray(value) || value.length > MAX_RETIRED) throw corrupt('"retired" is not a list');
    const ledger = new RetiredMembers();
    value.forEach((raw: unknown, i) => {
      const e = raw as Partial<RetiredJSON> | null;
      if (typeof e !== 'object' || e === null || typeof e.name !== 'string' || !isMemberName(e.name)) {
        throw corrupt(`retired ${i} has a bad name`);
      }
      let key: Uint8Array;
      try {
        key = decodeKey(e.wireguardKey as string, 32, 'wireguardKey');
      } catch {
        throw corrupt(`retired ${i} has a bad wireguardKey`);
      }
      ledger.note({ name: e.name, wireguardKey: key });
    });
    return ledger;
  }
}

/**
 * The roster as gossip offers records to it, noting in `retired` the name and WireGuard key of a
 * certificate that an accepted revocation is about to delete. `changed` runs after each note.
 */
export function retiringStore(roster: Roster, retired: RetiredMembers, changed: () => void): RecordStore {
  return {
    summaries: () => roster.summaries(),
    get: (id) => roster.get(id),
    offer(record: GossipRecord, now: number): OfferResult {
      // The subject from the revocation itself: an admin's revocation has an id of its own.
      const decoded = record.id.startsWith('revoke:') ? decodeRevocation(record.bytes) : undefined;
      const subject = decoded?.ok ? revocationSubject(decoded.value) : undefined;
      const held =
        subject === undefined ? undefined : roster.certificates().find((c) => subjectOf(c) === subject);
      const result = roster.offer(record, now);
      if (held && result === 'accepted') {
        retired.note(held);
        changed();
      }
      return result;
    },
  };
}
