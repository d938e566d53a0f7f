/**
 * Gossip's tunables and size limits in one place. Sizes follow from the sealed envelope
 * (core/overlayWire/constants.ts): a gossip message is the body of one sealed datagram.
 */
import { MAX_INNER_BODY } from '../overlayWire/constants.js';

/** A round of anti-entropy every interval, jittered by ±50% so rounds across nodes do not align. */
export const GOSSIP_INTERVAL_MS = 1_000;
/** Peers sent a digest per round. */
export const GOSSIP_FANOUT = 3;
/** Peers a new record is pushed to by each node that accepts it (rumor mongering). */
export const RUMOR_FANOUT = 3;
/**
 * Hops a rumor travels: with fanout 3 and 4 hops it reaches up to 3 + 9 + 27 + 81 nodes in well under
 * a second, and anti-entropy's push-pull takes it from that many to everyone in a round or two.
 * Flooding to the last node instead would cost fanout × members messages per record.
 */
export const RUMOR_HOPS = 4;
/** A rumor claiming more hops than this is malformed (it would ask us to flood). */
export const MAX_RUMOR_HOPS = 8;

/** Digest buckets; records fall into one by the hash of their id, so a version change stays in it. */
export const BUCKET_COUNT = 32;
export const BUCKET_HASH_SIZE = 8;
/** Records are named in summaries and wants by a 128-bit hash of their id, not the id itself. */
export const ID_HASH_SIZE = 16;

/** Largest encoded gossip message: one sealed inner body (≤ 1200 bytes). */
export const MAX_GOSSIP_MESSAGE = MAX_INNER_BODY;
/** recordStore.ts: a record id is at most 64 ASCII characters and its bytes at most 1000. */
export const MAX_RECORD_ID_LENGTH = 64;
export const MAX_RECORD_BYTES = 1_000;

/** Messages sent in answer to any one received message. */
export const MAX_REPLIES_PER_MESSAGE = 16;
/** Messages sent in answer to one peer per interval: a flooding peer gets no more than this. */
export const MAX_REPLIES_PER_PEER_PER_INTERVAL = 48;
/** Peers tracked for that budget per interval; beyond it, new peers get no answer until the next. */
export const MAX_TRACKED_PEERS = 1_024;
/** Newly accepted records waiting to be pushed; older ones are left to anti-entropy. */
export const MAX_HOT_RECORDS = 64;
/** Records pushed as rumors per call, so one burst of news cannot turn into a burst of sends. */
export const MAX_RUMORS_PER_FLUSH = 32;
/** How long a digest view of the store is reused before it is rebuilt (see Gossip.view). */
export const SNAPSHOT_REUSE_MS = 200;
