/**
 * WireGuard protocol constants, named as in the whitepaper (§5.4 for strings, §6.1 for timers).
 * Durations are milliseconds; message counters are bigint because they reach 2^64.
 */

/** whitepaper §5.4: the Noise protocol name, hashed to seed the chaining key. */
export const CONSTRUCTION = 'Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s';
/** whitepaper §5.4: mixed into the initial hash so WireGuard handshakes differ from other Noise users. */
export const IDENTIFIER = 'WireGuard v1 zx2c4 Jason@zx2c4.com';
/** whitepaper §5.4.4: prefix of the key for mac1. */
export const LABEL_MAC1 = 'mac1----';
/** whitepaper §5.4.7: prefix of the key that encrypts cookie replies. */
export const LABEL_COOKIE = 'cookie--';

/** whitepaper §6.1: the initiator starts a new handshake once a session has sent this many messages. */
export const REKEY_AFTER_MESSAGES = 1n << 60n;
/** whitepaper §6.1: no session sends or accepts more than this many messages (leaves room for the replay window). */
export const REJECT_AFTER_MESSAGES = (1n << 64n) - (1n << 13n) - 1n;

/** whitepaper §6.1 timers, in milliseconds. */
export const REKEY_AFTER_TIME = 120_000;
export const REJECT_AFTER_TIME = 180_000;
export const REKEY_ATTEMPT_TIME = 90_000;
export const REKEY_TIMEOUT = 5_000;
export const KEEPALIVE_TIMEOUT = 10_000;
/** whitepaper §5.4.7: the responder's cookie secret changes this often, and a held cookie expires after it. */
export const COOKIE_REFRESH_TIME = 120_000;
/** whitepaper §6.4: each retransmitted initiation waits REKEY_TIMEOUT plus up to this much random jitter. */
export const REKEY_TIMEOUT_JITTER_MAX = 333;

/** Message type bytes (whitepaper §5.4.2, §5.4.3, §5.4.7, §5.4.6). */
export const MESSAGE_INITIATION = 1;
export const MESSAGE_RESPONSE = 2;
export const MESSAGE_COOKIE_REPLY = 3;
export const MESSAGE_TRANSPORT = 4;

/** Exact sizes of the fixed-length messages and the transport header (whitepaper §5.4). */
export const INITIATION_SIZE = 148;
export const RESPONSE_SIZE = 92;
export const COOKIE_REPLY_SIZE = 64;
export const TRANSPORT_HEADER_SIZE = 16;
export const AEAD_TAG_SIZE = 16;
/** A transport message carries at least the AEAD tag: an empty (keepalive) payload. */
export const TRANSPORT_MIN_SIZE = TRANSPORT_HEADER_SIZE + AEAD_TAG_SIZE;
/** Largest UDP payload; anything bigger cannot have come off the wire. */
export const MAX_MESSAGE_SIZE = 65_535;
/** whitepaper §5.4.6: plaintext is zero-padded to a multiple of this. */
export const PADDING_MULTIPLE = 16;

export const KEY_SIZE = 32;
export const MAC_SIZE = 16;
export const TIMESTAMP_SIZE = 12;
export const COOKIE_NONCE_SIZE = 24;

/**
 * Every duration and message limit the state machines use. Production uses the whitepaper's values;
 * tests override some (e.g. `{ rekeyAfterTime: 5_000 }`) to make a rekey happen quickly.
 */
export interface Timings {
  readonly rekeyAfterTime: number;
  readonly rejectAfterTime: number;
  readonly rekeyAttemptTime: number;
  readonly rekeyTimeout: number;
  readonly rekeyTimeoutJitterMax: number;
  readonly keepaliveTimeout: number;
  readonly cookieRefreshTime: number;
  readonly rekeyAfterMessages: bigint;
  readonly rejectAfterMessages: bigint;
}

export const DEFAULT_TIMINGS: Timings = Object.freeze({
  rekeyAfterTime: REKEY_AFTER_TIME,
  rejectAfterTime: REJECT_AFTER_TIME,
  rekeyAttemptTime: REKEY_ATTEMPT_TIME,
  rekeyTimeout: REKEY_TIMEOUT,
  rekeyTimeoutJitterMax: REKEY_TIMEOUT_JITTER_MAX,
  keepaliveTimeout: KEEPALIVE_TIMEOUT,
  cookieRefreshTime: COOKIE_REFRESH_TIME,
  rekeyAfterMessages: REKEY_AFTER_MESSAGES,
  rejectAfterMessages: REJECT_AFTER_MESSAGES,
});

/** Tests only: the whitepaper's timings with some replaced. */
export function timingsWith(overrides: Partial<Timings> = {}): Timings {
  return Object.freeze({ ...DEFAULT_TIMINGS, ...overrides });
}
