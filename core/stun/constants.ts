/**
 * STUN's protocol numbers (RFC 8489 §5, §14, §18) and the client's timings, in one place. Only
 * the Binding method is spoken: overlay asks a server for its reflexive address and nothing else.
 */

/** RFC 8489 §5: every message since RFC 5389 carries this at bytes 4..7. */
export const MAGIC_COOKIE = 0x2112a442;
export const HEADER_SIZE = 20;
export const TXID_SIZE = 12;

/** Message types: method Binding (0x001) in the request, success and error classes (RFC 8489 §5). */
export const BINDING_REQUEST = 0x0001;
export const BINDING_SUCCESS = 0x0101;
export const BINDING_ERROR = 0x0111;

/** Attribute types (RFC 8489 §14, §18.3). */
export const ATTR_MAPPED_ADDRESS = 0x0001;
export const ATTR_USERNAME = 0x0006;
export const ATTR_MESSAGE_INTEGRITY = 0x0008;
export const ATTR_ERROR_CODE = 0x0009;
export const ATTR_UNKNOWN_ATTRIBUTES = 0x000a;
export const ATTR_REALM = 0x0014;
export const ATTR_NONCE = 0x0015;
export const ATTR_MESSAGE_INTEGRITY_SHA256 = 0x001c;
export const ATTR_PASSWORD_ALGORITHM = 0x001d;
export const ATTR_USERHASH = 0x001e;
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
export const ATTR_FINGERPRINT = 0x8028;

/** Address families inside (XOR-)MAPPED-ADDRESS (RFC 8489 §14.1). */
export const FAMILY_IPV4 = 0x01;
export const FAMILY_IPV6 = 0x02;

/** RFC 8489 §6.2.1: the first retransmission timeout, doubled after each retransmission. */
export const STUN_RTO_MS = 500;
/**
 * Requests per transaction (RFC 8489's Rc, default 7). Five, with the last wait doubled like the
 * others (8 s, RFC 8489's Rm × RTO), gives up 15.5 s after the first send instead of 39.5 s.
 */
export const STUN_MAX_SENDS = 5;
/**
 * A new Binding transaction this long after the last answer: often enough to keep a NAT's UDP
 * mapping open (many expire idle mappings after 30 s, below RFC 4787 REQ-5's 2 minutes) and to
 * notice when it changes.
 */
export const STUN_REFRESH_MS = 25_000;
/** A server that did not answer a whole transaction is asked again after this long. */
export const STUN_RETRY_MS = 25_000;
/** The most servers one client asks: each costs a datagram every refresh. */
export const MAX_STUN_SERVERS = 8;

/**
 * Comprehension-required attributes of RFC 3489's classic STUN (RESPONSE-ADDRESS, CHANGE-REQUEST,
 * SOURCE-ADDRESS, CHANGED-ADDRESS, PASSWORD, REFLECTED-FROM), which older servers still send in
 * Binding responses. Reserved since RFC 5389 (§18.3 of RFC 8489), known to us, and skipped.
 */
export const LEGACY_RFC3489_ATTRS: readonly number[] = [0x0002, 0x0003, 0x0004, 0x0005, 0x0007, 0x000b];
