/**
 * Gossip's four messages and their compact binary encoding. Each fits one sealed datagram.
 *
 * digest:    [1][bucket count][per bucket: xor of entry hashes (u64), record count u16]
 * summaries: [2][group count][per group: bucket, complete 0/1, n, n × (id hash 16, version u64)]
 * want:      [3][n][n × id hash 16]
 * records:   [4][rumor hops][n][per record: id length, id, version u64, length u16, bytes]
 *            (hops 0: an anti-entropy transfer, not passed on; n > 0: a rumor, passed on with n − 1)
 *
 * Decoding never throws and never allocates more than the message's own size: every count is bounded
 * by the bytes that must follow it.
 */
import { ByteReader, ByteWriter, isAscii } from '../overlayWire/byteCodec.js';
import {
  BUCKET_COUNT,
  BUCKET_HASH_SIZE,
  ID_HASH_SIZE,
  MAX_GOSSIP_MESSAGE,
  MAX_RECORD_BYTES,
  MAX_RECORD_ID_LENGTH,
  MAX_RUMOR_HOPS,
} from './constants.js';
import type { GossipRecord } from './recordStore.js';

const DIGEST = 1;
const SUMMARIES = 2;
const WANT = 3;
const RECORDS = 4;

/** One bucket: the XOR of its entries' 64-bit hashes, as two 32-bit halves, and its record count. */
export interface BucketDigest {
  readonly hi: number;
  readonly lo: number;
  readonly count: number;
}

export interface Summary {
  readonly idHash: Uint8Array;
  readonly version: number;
}

export interface SummaryGroup {
  readonly bucket: number;
  /** True when `entries` is everything the sender holds in the bucket (so absence means "lacks"). */
  readonly complete: boolean;
  readonly entries: readonly Summary[];
}

export type GossipMessage =
  | { readonly type: 'digest'; readonly buckets: readonly BucketDigest[] }
  | { readonly type: 'summaries'; readonly groups: readonly SummaryGroup[] }
  | { readonly type: 'want'; readonly idHashes: readonly Uint8Array[] }
  | { readonly type: 'records'; readonly hops: number; readonly records: readonly GossipRecord[] };

export type GossipDecodeFailure = 'empty' | 'tooLarge' | 'unknownType' | 'malformed';
export type GossipDecoded = { ok: true; message: GossipMessage } | { ok: false; reason: GossipDecodeFailure };

const SUMMARY_SIZE = ID_HASH_SIZE + 8;
const GROUP_HEADER_SIZE = 3;
const MAX_GROUP_ENTRIES = 255;
const MAX_WANT = Math.min(255, Math.floor((MAX_GOSSIP_MESSAGE - 2) / ID_HASH_SIZE));

export function encodeDigest(buckets: readonly BucketDigest[]): Uint8Array {
  const w = new ByteWriter(2 + buckets.length * (BUCKET_HASH_SIZE + 2)).u8(DIGEST).u8(buckets.length);
  for (const b of buckets) w.u32(b.hi).u32(b.lo).u16(Math.min(b.count, 0xffff));
  return w.finish();
}

export function encodeWant(idHashes: readonly Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < idHashes.length; i += MAX_WANT) {
    const chunk = idHashes.slice(i, i + MAX_WANT);
    const w = new ByteWriter(2 + chunk.length * ID_HASH_SIZE).u8(WANT).u8(chunk.length);
    for (const h of chunk) w.bytes(h);
    out.push(w.finish());
  }
  return out;
}

/**
 * Packs groups into as few messages as fit. A group too big for one message is split into parts
 * marked incomplete: the receiver then only asks for what it lacks and pushes nothing on absence.
 */
export function encodeSummaries(groups: readonly SummaryGroup[]): Uint8Array[] {
  const parts: SummaryGroup[] = [];
  const perMessage = Math.min(
    MAX_GROUP_ENTRIES,
    Math.floor((MAX_GOSSIP_MESSAGE - 2 - GROUP_HEADER_SIZE) / SUMMARY_SIZE),
  );
  for (const g of groups) {
    if (g.entries.length <= perMessage) parts.push(g);
    else {
      for (let i = 0; i < g.entries.length; i += perMessage) {
        parts.push({ bucket: g.bucket, complete: false, entries: g.entries.slice(i, i + perMessage) });
      }
    }
  }
  const out: Uint8Array[] = [];
  let batch: SummaryGroup[] = [];
  let size = 2;
  const flush = () => {
    if (batch.length === 0) return;
    const w = new ByteWriter(size).u8(SUMMARIES).u8(batch.length);
    for (const g of batch) {
      w.u8(g.bucket)
        .u8(g.complete ? 1 : 0)
        .u8(g.entries.length);
      for (const e of g.entries) w.bytes(e.idHash).u53(e.version);
    }
    out.push(w.finish());
    batch = [];
    size = 2;
  };
  for (const g of parts) {
    const groupSize = GROUP_HEADER_SIZE + g.entries.length * SUMMARY_SIZE;
    if (size + groupSize > MAX_GOSSIP_MESSAGE || batch.length === 255) flush();
    batch.push(g);
    size += groupSize;
  }
  flush();
  return out;
}

export function encodedRecordSize(record: GossipRecord): number {
  return 1 + record.id.length + 8 + 2 + record.bytes.length;
}

/** Packs records greedily into messages; a record that could never fit is skipped, not sent broken. */
export function encodeRecords(records: readonly GossipRecord[], hops: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let batch: GossipRecord[] = [];
  let size = 3;
  const flush = () => {
    if (batch.length === 0) return;
    const w = new ByteWriter(size).u8(RECORDS).u8(Math.min(hops, MAX_RUMOR_HOPS)).u8(batch.length);
    for (const r of batch) w.shortString(r.id).u53(r.version).u16(r.bytes.length).bytes(r.bytes);
    out.push(w.finish());
    batch = [];
    size = 3;
  };
  for (const r of records) {
    if (!isValidRecord(r)) continue;
    const recordSize = encodedRecordSize(r);
    if (size + recordSize > MAX_GOSSIP_MESSAGE || batch.length === 255) flush();
    batch.push(r);
    size += recordSize;
  }
  flush();
  return out;
}

export function decodeGossipMessage(bytes: Uint8Array): GossipDecoded {
  if (bytes.length === 0) return { ok: false, reason: 'empty' };
  if (bytes.length > MAX_GOSSIP_MESSAGE) return { ok: false, reason: 'tooLarge' };
  const r = new ByteReader(bytes);
  let message: GossipMessage;
  switch (r.u8()) {
    case DIGEST: {
      const n = r.u8();
      if (n !== BUCKET_COUNT) r.fail();
      const buckets: BucketDigest[] = [];
      for (let i = 0; i < n && r.ok; i++) buckets.push({ hi: r.u32(), lo: r.u32(), count: r.u16() });
      message = { type: 'digest', buckets };
      break;
    }
    case SUMMARIES: {
      const n = r.u8();
      const groups: SummaryGroup[] = [];
      for (let i = 0; i < n && r.ok; i++) {
        const bucket = r.u8();
        const complete = r.u8();
        const count = r.u8();
        if (bucket >= BUCKET_COUNT || complete > 1 || r.remaining < count * SUMMARY_SIZE) r.fail();
        const entries: Summary[] = [];
        for (let j = 0; j < count && r.ok; j++)
          entries.push({ idHash: r.take(ID_HASH_SIZE), version: r.u53() });
        groups.push({ bucket, complete: complete === 1, entries });
      }
      message = { type: 'summaries', groups };
      break;
    }
    case WANT: {
      const n = r.u8();
      if (n === 0 || r.remaining !== n * ID_HASH_SIZE) r.fail();
      const idHashes: Uint8Array[] = [];
      for (let i = 0; i < n && r.ok; i++) idHashes.push(r.take(ID_HASH_SIZE));
      message = { type: 'want', idHashes };
      break;
    }
    case RECORDS: {
      const hops = r.u8();
      const n = r.u8();
      if (hops > MAX_RUMOR_HOPS || n === 0) r.fail();
      const records: GossipRecord[] = [];
      for (let i = 0; i < n && r.ok; i++) {
        const id = r.shortString(MAX_RECORD_ID_LENGTH, 'ascii');
        const version = r.u53();
        const length = r.u16();
        if (length === 0 || length > MAX_RECORD_BYTES) r.fail();
        records.push({ id, version, bytes: r.take(length) });
      }
      message = { type: 'records', hops, records };
      break;
    }
    default:
      return { ok: false, reason: 'unknownType' };
  }
  if (!r.done) return { ok: false, reason: 'malformed' };
  return { ok: true, message };
}

/** recordStore.ts's limits, checked before a record is sent or offered. */
export function isValidRecord(r: GossipRecord): boolean {
  return (
    r.id.length > 0 &&
    isAscii(r.id, MAX_RECORD_ID_LENGTH) &&
    Number.isSafeInteger(r.version) &&
    r.version >= 0 &&
    r.bytes.length > 0 &&
    r.bytes.length <= MAX_RECORD_BYTES
  );
}
