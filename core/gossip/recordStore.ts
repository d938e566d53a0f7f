/**
 * The contract between gossip (core/gossip) and what it spreads (core/membership): signed records
 * that any member may pass on but only their signer could have made. Gossip never reads a record;
 * it moves opaque bytes and asks the store whether each is new and valid.
 */

/** One record as gossip sees it. */
export interface GossipRecord {
  /**
   * Stable identity of the thing the record is about, e.g. `cert:<signing key>`,
   * `revoke:<signing key>` (the network key's revocation; an admin's is named by a hash of its
   * subject and signer), `endpoints:<signing key>`. At most 64 ASCII characters.
   */
  readonly id: string;
  /** Higher replaces lower for the same id (a re-issued certificate, newer endpoints). */
  readonly version: number;
  /** The encoded, signed record; at most 1000 bytes so one fits in a datagram. */
  readonly bytes: Uint8Array;
}

export type OfferResult =
  /** New (or newer than what the store had) and valid: keep spreading it. */
  | 'accepted'
  /** The store already has this version or a newer one. */
  | 'stale'
  /** Fails validation (bad signature, unknown issuer, expired, wrong network): drop it. */
  | 'invalid';

/** What gossip needs from the store that holds the records. Implemented by membership's roster. */
export interface RecordStore {
  /** Every record held, id and version only. */
  summaries(): { id: string; version: number }[];
  get(id: string): GossipRecord | undefined;
  /** Validates and, if new, keeps the record. `now` is wall-clock ms (for expiry checks). */
  offer(record: GossipRecord, now: number): OfferResult;
}
