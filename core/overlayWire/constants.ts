/**
 * overlay's own messages on the WireGuard port. WireGuard's message types are 1–4 followed by three
 * zero bytes (whitepaper §5.4), so any first byte ≥ 0x80 can never be mistaken for one, and the native
 * data path passes these up to JavaScript untouched.
 */

/** Outer type bytes (the first byte of the UDP payload). */
export const TYPE_SEALED = 0x80;
/** In clear: "do you hold this invite id?" Carries nothing secret (see joinQuery.ts). */
export const TYPE_JOIN_QUERY = 0x81;
/** In clear: the inviter's WireGuard public key, sent only for an invite id it holds. */
export const TYPE_JOIN_QUERY_REPLY = 0x82;
/**
 * 0x83–0x8f are reserved for clear-text discovery messages (issue 5, e.g. STUN-like probes that must
 * work before keys are known). Sealed discovery messages are inner kinds instead (see INNER_*).
 */
export const TYPE_RESERVED_FIRST = 0x83;
export const TYPE_RESERVED_LAST = 0x8f;

/** Inner message kinds, inside a sealed message. */
export const INNER_GOSSIP = 0x01;
export const INNER_JOIN_REQUEST = 0x10;
export const INNER_JOIN_ACCEPT = 0x11;
export const INNER_JOIN_REJECT = 0x12;
/** 0x20–0x3f reserved for sealed discovery messages (issue 5: ping, pong, introduction, relay). */
export const INNER_DISCOVERY_FIRST = 0x20;
export const INNER_DISCOVERY_LAST = 0x3f;

/** IPv6's minimum MTU: a datagram this size crosses any path without fragmentation. */
export const MAX_DATAGRAM = 1280;

export const PUBLIC_KEY_SIZE = 32;
/** NaCl box (XSalsa20-Poly1305) nonce and tag sizes. */
export const BOX_NONCE_SIZE = 24;
export const BOX_TAG_SIZE = 16;
/** [type][sender public key][nonce] */
export const SEALED_HEADER_SIZE = 1 + PUBLIC_KEY_SIZE + BOX_NONCE_SIZE;
/**
 * The trailing MAC that proves the sender knew the receiver's public key (sealed.ts), checked
 * before any Diffie-Hellman: 16 bytes of HMAC-SHA256.
 */
export const SEALED_MAC1_SIZE = 16;
/** Bytes a sealed datagram adds around the encoded inner message. */
export const SEALED_OVERHEAD = SEALED_HEADER_SIZE + BOX_TAG_SIZE + SEALED_MAC1_SIZE;
/** Largest encoded inner message (header included) that still fits one datagram. */
export const MAX_INNER_SIZE = MAX_DATAGRAM - SEALED_OVERHEAD;
/** Inner header: [kind][direction][sent-at ms, u64][message id, 8 random bytes]. */
export const MESSAGE_ID_SIZE = 8;
export const INNER_HEADER_SIZE = 1 + 1 + 8 + MESSAGE_ID_SIZE;
/** Largest body of any inner message: the room left for gossip payloads and join accepts. */
export const MAX_INNER_BODY = MAX_INNER_SIZE - INNER_HEADER_SIZE;

/**
 * Replay protection (replayGuard.ts): besides the clock-skew budget (core/clockSkew.ts), a
 * message more than this far behind the newest one its sender got accepted is stale.
 */
export const REORDER_WINDOW_MS = 5_000;
/** Recent message ids kept per sender; beyond it that sender's own floor rises. */
export const REPLAY_IDS_PER_SENDER = 256;
/** Senders a replay guard keeps; a node records only members there, so this is a roster bound. */
export const REPLAY_SENDERS = 4096;
/** Strangers (would-be joiners) a node keeps replay state for, apart from members. */
export const REPLAY_STRANGERS = 64;
/** Box keys (the X25519 result) kept per member, so a busy peer costs one scalar multiplication. */
export const SHARED_KEY_CACHE_SIZE = 512;

/** Join protocol sizes. */
export const INVITE_SECRET_SIZE = 16;
export const INVITER_KEY_HASH_SIZE = 16;
export const JOIN_REQUEST_ID_SIZE = 16;
/** Ed25519 signature of the joiner over its request (joinSignature.ts). */
export const JOIN_SIGNATURE_SIZE = 64;
/** An invite id is lowercase hex of at most this many characters. */
export const MAX_INVITE_ID_LENGTH = 32;
export const MAX_NAME_BYTES = 63;
export const MAX_ENDPOINTS = 8;
export const MAX_ENDPOINT_LENGTH = 64;
export const MAX_REJECT_DETAIL_BYTES = 160;
/**
 * After an answered join query, how long the inviter opens sealed datagrams from that address
 * (the joiner's whole attempt spans 15 s), and how many such addresses it keeps.
 */
export const PENDING_JOIN_MS = 30_000;
export const MAX_PENDING_JOINS = 256;
/**
 * A join query is padded to this size, larger than its reply, so a spoofed source address cannot
 * use us to amplify traffic toward a victim.
 */
export const JOIN_QUERY_SIZE = 72;
export const JOIN_QUERY_REPLY_SIZE = 1 + 1 + MAX_INVITE_ID_LENGTH + PUBLIC_KEY_SIZE;
