/**
 * The store's contents as anti-entropy compares them: each record's id hash, its bucket, and a hash
 * of (id, version); a bucket's digest is the XOR of its entries' hashes and their count. Hashes are
 * computed once per (id, version) and cached, because a node rebuilds its digest several times a
 * second while the store changes only now and then; a rebuild is one pass with a map lookup per record.
 */
import { createHash } from 'node:crypto';
import { BUCKET_COUNT, ID_HASH_SIZE } from './constants.js';
import type { BucketDigest } from './gossipMessages.js';
import type { RecordStore } from './recordStore.js';

export interface IndexedRecord {
  readonly id: string;
  readonly version: number;
  readonly idHash: Uint8Array;
  /** idHash as a string key. */
  readonly key: string;
  readonly bucket: number;
  /** The (id, version) hash as two 32-bit halves, for cheap XOR. */
  readonly hi: number;
  readonly lo: number;
  /** The snapshot that last saw this entry in the store; older means the store no longer has it. */
  seenIn: number;
}

export interface Snapshot {
  readonly digests: BucketDigest[];
  /** Every record the store held, in the store's order. */
  readonly entries: readonly IndexedRecord[];
  /** Our entry for an id hash, if the store held it at this snapshot. */
  lookup(key: string): IndexedRecord | undefined;
  /** Our entries in one bucket. */
  bucket(index: number): IndexedRecord[];
}

export class RecordIndex {
  private readonly byId = new Map<string, IndexedRecord>();
  private readonly byKey = new Map<string, IndexedRecord>();
  private generation = 0;

  constructor(private readonly store: RecordStore) {}

  snapshot(): Snapshot {
    const generation = ++this.generation;
    const summaries = this.store.summaries();
    const hi = new Uint32Array(BUCKET_COUNT);
    const lo = new Uint32Array(BUCKET_COUNT);
    const counts = new Uint16Array(BUCKET_COUNT);
    const entries: IndexedRecord[] = new Array(summaries.length);
    for (let i = 0; i < summaries.length; i++) {
      const s = summaries[i]!;
      let entry = this.byId.get(s.id);
      if (entry === undefined || entry.version !== s.version) entry = this.index(s.id, s.version, entry);
      entry.seenIn = generation;
      entries[i] = entry;
      hi[entry.bucket]! ^= entry.hi;
      lo[entry.bucket]! ^= entry.lo;
      counts[entry.bucket]!++;
    }
    // Forget ids the store dropped (expired, replaced), so the cache stays the size of the store.
    if (this.byId.size > summaries.length * 2 + 64) {
      for (const [id, e] of this.byId) {
        if (e.seenIn === generation) continue;
        this.byId.delete(id);
        this.byKey.delete(e.key);
      }
    }
    const digests: BucketDigest[] = [];
    for (let b = 0; b < BUCKET_COUNT; b++) digests.push({ hi: hi[b]!, lo: lo[b]!, count: counts[b]! });
    let grouped: IndexedRecord[][] | undefined;
    return {
      digests,
      entries,
      lookup: (key) => {
        const e = this.byKey.get(key);
        return e !== undefined && e.seenIn === generation ? e : undefined;
      },
      bucket: (index) => {
        // Grouped on first use: most snapshots only feed a digest and never need it.
        grouped ??= groupByBucket(entries);
        return grouped[index] ?? [];
      },
    };
  }

  private index(id: string, version: number, previous: IndexedRecord | undefined): IndexedRecord {
    const idHash =
      previous?.idHash ??
      new Uint8Array(createHash('blake2s256').update('overlay gossip id\0').update(id).digest()).slice(
        0,
        ID_HASH_SIZE,
      );
    const v = Buffer.alloc(8);
    v.writeBigUInt64BE(BigInt(version));
    const h = createHash('blake2s256').update(idHash).update(v).digest();
    const entry: IndexedRecord = {
      id,
      version,
      idHash,
      key: previous?.key ?? recordHashKey(idHash),
      bucket: idHash[0]! % BUCKET_COUNT,
      hi: h.readUInt32BE(0),
      lo: h.readUInt32BE(4),
      seenIn: 0,
    };
    this.byId.set(id, entry);
    this.byKey.set(entry.key, entry);
    return entry;
  }
}

function groupByBucket(entries: readonly IndexedRecord[]): IndexedRecord[][] {
  const groups: IndexedRecord[][] = Array.from({ length: BUCKET_COUNT }, () => []);
  for (const e of entries) groups[e.bucket]!.push(e);
  return groups;
}

/** A record id hash as a map key (its bytes as latin1 text); not a peer id (core/base/keys.ts). */
export function recordHashKey(idHash: Uint8Array): string {
  return Buffer.from(idHash.buffer, idHash.byteOffset, idHash.length).toString('latin1');
}
