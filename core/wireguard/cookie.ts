/**
 * mac1/mac2 and cookie replies (whitepaper §5.3, §5.4.4, §5.4.7).
 * mac1 proves the sender knows our public key; mac2 proves it can receive at its source address,
 * and is only demanded while the responder is under load.
 */
import { bytesEqual } from '../base/bytes.js';
import { type Endpoint, endpointAddressBytes } from '../base/endpoint.js';
import {
  COOKIE_NONCE_SIZE,
  COOKIE_REFRESH_TIME,
  LABEL_COOKIE,
  LABEL_MAC1,
  MAC_SIZE,
  MESSAGE_INITIATION,
  MESSAGE_RESPONSE,
} from './constants.js';
import { type CookieReply, encodeCookieReply, mac1Offset } from './messages.js';
import { hash, mac, type RandomSource, secureRandom, xaeadOpen, xaeadSeal, zero } from './primitives.js';

const text = new TextEncoder();
const ZERO_MAC = new Uint8Array(MAC_SIZE);

/** whitepaper §5.4.4: the mac1 key is HASH(Label-Mac1 ‖ the receiver's static public key). */
export function mac1KeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(text.encode(LABEL_MAC1), publicKey);
}

/** whitepaper §5.4.7: the cookie encryption key is HASH(Label-Cookie ‖ the cookie sender's public key). */
export function cookieKeyFor(publicKey: Uint8Array): Uint8Array {
  return hash(text.encode(LABEL_COOKIE), publicKey);
}

type HandshakeType = typeof MESSAGE_INITIATION | typeof MESSAGE_RESPONSE;

function handshakeType(bytes: Uint8Array): HandshakeType {
  return bytes[0] === MESSAGE_INITIATION ? MESSAGE_INITIATION : MESSAGE_RESPONSE;
}

/** The responder's side: checks macs on handshake messages sent to us and issues cookie replies. */
export class CookieChecker {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private secret: Uint8Array | undefined;
  private secretSetAt = 0;

  constructor(
    localPublicKey: Uint8Array,
    private readonly random: RandomSource = secureRandom,
    private readonly refreshMs = COOKIE_REFRESH_TIME,
  ) {
    this.mac1Key = mac1KeyFor(localPublicKey);
    this.cookieKey = cookieKeyFor(localPublicKey);
  }

  /** whitepaper §5.4.4: mac1 = MAC(HASH(Label-Mac1 ‖ Spub_m), msg_α) over the bytes before mac1. */
  checkMac1(bytes: Uint8Array): boolean {
    const at = mac1Offset(handshakeType(bytes));
    return bytesEqual(mac(this.mac1Key, bytes.subarray(0, at)), bytes.subarray(at, at + MAC_SIZE));
  }

  /** whitepaper §5.4.4: mac2 = MAC(cookie, msg_β), where the cookie is what we would issue to `source` now. */
  checkMac2(bytes: Uint8Array, source: Endpoint, now: number): boolean {
    const at = mac1Offset(handshakeType(bytes)) + MAC_SIZE;
    const expected = mac(this.cookieFor(source, now), bytes.subarray(0, at));
    return bytesEqual(expected, bytes.subarray(at, at + MAC_SIZE));
  }

  /**
   * whitepaper §5.4.7: a cookie reply to a handshake message whose mac1 was valid. The cookie is
   * encrypted to the message's own mac1 as associated data, so only its real sender can use it.
   */
  createReply(bytes: Uint8Array, receiverIndex: number, source: Endpoint, now: number): Uint8Array {
    const at = mac1Offset(handshakeType(bytes));
    const nonce = this.random(COOKIE_NONCE_SIZE).slice(0, COOKIE_NONCE_SIZE);
    const cookie = this.cookieFor(source, now);
    const encryptedCookie = xaeadSeal(this.cookieKey, nonce, cookie, bytes.subarray(at, at + MAC_SIZE));
    zero(cookie);
    return encodeCookieReply({ receiverIndex, nonce, encryptedCookie });
  }

  /** whitepaper §5.4.7: τ = MAC(Rm, Am), with the secret Rm replaced every two minutes. */
  private cookieFor(source: Endpoint, now: number): Uint8Array {
    if (!this.secret || now - this.secretSetAt >= this.refreshMs) {
      zero(this.secret);
      this.secret = this.random(32).slice(0, 32);
      this.secretSetAt = now;
    }
    return mac(this.secret, sourceBytes(source));
  }
}

/**
 * The sender's side toward one remote: stamps mac1 (and mac2 while holding a fresh cookie) on our
 * handshake messages, and accepts cookie replies to the last message we stamped.
 */
export class CookieJar {
  private readonly mac1Key: Uint8Array;
  private readonly cookieKey: Uint8Array;
  private cookie: Uint8Array | undefined;
  private cookieAt = 0;
  private lastMac1: Uint8Array | undefined;

  constructor(
    remotePublicKey: Uint8Array,
    private readonly refreshMs = COOKIE_REFRESH_TIME,
  ) {
    this.mac1Key = mac1KeyFor(remotePublicKey);
    this.cookieKey = cookieKeyFor(remotePublicKey);
  }

  /** Writes mac1 and mac2 into a handshake message in place (whitepaper §5.4.4). */
  stamp(bytes: Uint8Array, now: number): void {
    const at = mac1Offset(handshakeType(bytes));
    const mac1 = mac(this.mac1Key, bytes.subarray(0, at));
    bytes.set(mac1, at);
    this.lastMac1 = mac1;
    // whitepaper §5.4.4: mac2 is zero unless we hold a cookie younger than 120 seconds.
    const fresh = this.cookie !== undefined && now - this.cookieAt < this.refreshMs;
    bytes.set(fresh ? mac(this.cookie!, bytes.subarray(0, at + MAC_SIZE)) : ZERO_MAC, at + MAC_SIZE);
  }

  /** Decrypts a cookie reply; false if it does not answer the last message we sent. */
  consumeReply(reply: CookieReply, now: number): boolean {
    if (!this.lastMac1) return false;
    const cookie = xaeadOpen(this.cookieKey, reply.nonce, reply.encryptedCookie, this.lastMac1);
    if (!cookie || cookie.length !== MAC_SIZE) return false;
    zero(this.cookie);
    this.cookie = cookie;
    this.cookieAt = now;
    // One reply per message sent: a replayed cookie reply finds no mac1 to match.
    this.lastMac1 = undefined;
    return true;
  }

  hasFreshCookie(now: number): boolean {
    return this.cookie !== undefined && now - this.cookieAt < this.refreshMs;
  }

  zero(): void {
    zero(this.cookie, this.lastMac1);
    this.cookie = undefined;
    this.lastMac1 = undefined;
  }
}

/**
 * whitepaper §5.4.7: Am, the source address and port a cookie is bound to. Only this responder reads
 * it back, so any injective encoding works: the 4 or 16 address bytes, then the port big-endian.
 */
function sourceBytes(e: Endpoint): Uint8Array {
  const addr = endpointAddressBytes(e);
  const out = new Uint8Array(addr.length + 2);
  out.set(addr, 0);
  out[addr.length] = (e.port >>> 8) & 0xff;
  out[addr.length + 1] = e.port & 0xff;
  return out;
}
