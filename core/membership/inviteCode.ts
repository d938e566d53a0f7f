/**
 * The invite code a person pastes or types: "ovl1-" then Crockford base32 in groups of four.
 *
 *   secret 16 | inviter key hash 16 | families u8 | endpoints | checksum 4
 *
 * `families` has bit i set when endpoint i is IPv6 (16-byte address + port) rather than IPv4
 * (4 + port); the number of endpoints follows from the length. The checksum is BLAKE2s over a
 * context, the prefix and everything before it, cut to 4 bytes: any typo is caught with odds of
 * 1 in 2^32 of slipping through, before a single packet is sent. The whole code is at most 120
 * characters, so up to three IPv4 endpoints or one IPv6 endpoint fit.
 *
 * The secret lets the inviter recognise the holder of a live invite; the key hash lets the joiner
 * recognise the inviter (whose key it learns in the handshake) without the code carrying the
 * whole key.
 */
import { blake2s } from '@noble/hashes/blake2.js';
import { bytesEqual } from '../base/bytes.js';
import { endpointAddressBytes, endpointFromBytes, formatEndpoint, parseEndpoint } from '../base/endpoint.js';
import { base32Length, decodeBase32, encodeBase32, firstNonBase32 } from './base32.js';
import { MembershipError } from './membershipError.js';

export const INVITE_PREFIX = 'ovl1-';
export const INVITE_MAX_LENGTH = 120;
export const INVITE_SECRET_SIZE = 16;
export const INVITE_KEY_HASH_SIZE = 16;
const CHECKSUM_SIZE = 4;
const GROUP = 4;
const FIXED = INVITE_SECRET_SIZE + INVITE_KEY_HASH_SIZE + 1 + CHECKSUM_SIZE;
const MAX_ENDPOINTS = 8; // bits in `families`
const encoder = new TextEncoder();

/** What a code carries. */
export interface Invite {
  readonly secret: Uint8Array;
  /** inviterKeyHash(the inviter's WireGuard public key). */
  readonly inviterKeyHash: Uint8Array;
  /** "ip:port" / "[ipv6]:port", in the inviter's order of preference. */
  readonly endpoints: readonly string[];
}

function domainHash(context: string, data: Uint8Array, dkLen: number): Uint8Array {
  const ctx = encoder.encode(`${context}\0`);
  const input = new Uint8Array(ctx.length + data.length);
  input.set(ctx, 0);
  input.set(data, ctx.length);
  return blake2s(input, { dkLen });
}

/** 16 bytes that name the inviter's WireGuard key in a code. */
export function inviterKeyHash(wireguardKey: Uint8Array): Uint8Array {
  return domainHash('overlay invite inviter key v1', wireguardKey, INVITE_KEY_HASH_SIZE);
}

/** Whether the key the joiner met in the handshake is the one the code names. */
export function isInviter(invite: Invite, wireguardKey: Uint8Array): boolean {
  return bytesEqual(inviterKeyHash(wireguardKey), invite.inviterKeyHash);
}

/**
 * The public name of an invite (`overlay invite list/revoke`, the join query): 8 bytes of a hash
 * of the secret, hex. It reveals nothing of the secret and never needs it stored.
 */
export function inviteId(secret: Uint8Array): string {
  return Buffer.from(domainHash('overlay invite id v1', secret, 8)).toString('hex');
}

function checksum(body: Uint8Array): Uint8Array {
  const prefixed = new Uint8Array(INVITE_PREFIX.length + body.length);
  prefixed.set(encoder.encode(INVITE_PREFIX), 0);
  prefixed.set(body, INVITE_PREFIX.length);
  return domainHash('overlay invite checksum v1', prefixed, CHECKSUM_SIZE);
}

function codeLength(byteLength: number): number {
  const symbols = base32Length(byteLength);
  return INVITE_PREFIX.length + symbols + Math.ceil(symbols / GROUP) - 1;
}

/** An endpoint as the code carries it: 4 or 16 address bytes, then the port. */
interface EndpointBytes {
  readonly address: Uint8Array;
  readonly port: number;
}

function endpointSize(e: EndpointBytes): number {
  return e.address.length + 2;
}

/**
 * Makes a code. Endpoints are taken in the order given, each one that still fits under the
 * length limit; `endpoints` in the result says which made it in.
 */
export function encodeInviteCode(input: {
  secret: Uint8Array;
  inviterWireguardKey: Uint8Array;
  endpoints: readonly string[];
}): { code: string; endpoints: string[] } {
  if (input.secret.length !== INVITE_SECRET_SIZE)
    throw new MembershipError('EINTERNAL', 'invite secret is not 16 bytes');
  if (input.inviterWireguardKey.length !== 32)
    throw new MembershipError('EINTERNAL', 'inviter key is not 32 bytes');
  const chosen: EndpointBytes[] = [];
  let size = FIXED;
  for (const text of input.endpoints) {
    const parsed = parseEndpoint(text);
    if (!parsed) throw new MembershipError('EUSAGE', `${JSON.stringify(text)} is not an ip:port endpoint`);
    if (chosen.length === MAX_ENDPOINTS) break;
    const e = { address: endpointAddressBytes(parsed), port: parsed.port };
    if (codeLength(size + endpointSize(e)) > INVITE_MAX_LENGTH) continue;
    chosen.push(e);
    size += endpointSize(e);
  }
  if (chosen.length === 0) {
    throw new MembershipError('EUSAGE', 'an invite needs at least one endpoint the joiner can reach', {
      hint: 'pass --endpoint HOST:PORT to overlay init, or bring the node up first',
    });
  }
  const body = new Uint8Array(size - CHECKSUM_SIZE);
  body.set(input.secret, 0);
  body.set(inviterKeyHash(input.inviterWireguardKey), INVITE_SECRET_SIZE);
  let families = 0;
  let at = FIXED - CHECKSUM_SIZE;
  chosen.forEach((e, i) => {
    if (e.address.length === 16) families |= 1 << i;
    body.set(e.address, at);
    body[at + e.address.length] = e.port >>> 8;
    body[at + e.address.length + 1] = e.port & 0xff;
    at += endpointSize(e);
  });
  body[INVITE_SECRET_SIZE + INVITE_KEY_HASH_SIZE] = families;
  const full = new Uint8Array(size);
  full.set(body, 0);
  full.set(checksum(body), body.length);
  const symbols = encodeBase32(full);
  const groups: string[] = [];
  for (let i = 0; i < symbols.length; i += GROUP) groups.push(symbols.slice(i, i + GROUP));
  return {
    code: INVITE_PREFIX + groups.join('-'),
    endpoints: chosen.map((e) => formatEndpoint(endpointFromBytes(e.address, e.port))),
  };
}

const MIN_SYMBOLS = base32Length(FIXED + 6);
const MAX_SYMBOLS = (() => {
  let n = FIXED + 6;
  while (codeLength(n + 1) <= INVITE_MAX_LENGTH) n++;
  return base32Length(n);
})();

const typo = () =>
  new MembershipError('EINVITE_TYPO', 'the invite code is mistyped (its checksum does not match)', {
    hint: 'check it character by character against the original, or paste it instead of typing',
  });

/** Reads a code as typed or pasted. Throws MembershipError EINVITE_VERSION / _FORMAT / _TYPO. */
export function parseInviteCode(text: string): Invite {
  const trimmed = typeof text === 'string' ? text.trim() : '';
  const m = /^ovl([0-9]+)(.*)$/is.exec(trimmed);
  if (!m) {
    throw new MembershipError('EINVITE_VERSION', 'this is not an overlay invite code', {
      hint: `invite codes start with ${INVITE_PREFIX}`,
    });
  }
  if (m[1] !== '1') {
    throw new MembershipError(
      'EINVITE_VERSION',
      `this invite code is for format ovl${m[1]}, this overlay reads ovl1`,
      {
        hint: 'update overlay on this machine, or ask for a code from the same version',
      },
    );
  }
  const symbols = m[2]!.replace(/[-\s]/g, '');
  const stray = firstNonBase32(symbols);
  if (stray) {
    throw new MembershipError(
      'EINVITE_FORMAT',
      `the invite code has a character it cannot contain: "${stray.char}"`,
      {
        hint: 'codes use digits and letters except I, L, O and U (read as 1, 1, 0) and dashes',
      },
    );
  }
  if (symbols.length < MIN_SYMBOLS || symbols.length > MAX_SYMBOLS) {
    throw new MembershipError(
      'EINVITE_FORMAT',
      `the invite code is too ${symbols.length < MIN_SYMBOLS ? 'short' : 'long'} (${symbols.length} characters after ${INVITE_PREFIX}, expected ${MIN_SYMBOLS} to ${MAX_SYMBOLS})`,
      { hint: 'copy the whole code, from ovl1- to its last character' },
    );
  }
  // From here on, anything that does not add up is a changed character: report it as a typo.
  const bytes = decodeBase32(symbols);
  if (!bytes || bytes.length < FIXED + 6) throw typo();
  const body = bytes.subarray(0, bytes.length - CHECKSUM_SIZE);
  if (!bytesEqual(checksum(body), bytes.subarray(body.length))) throw typo();

  const families = body[INVITE_SECRET_SIZE + INVITE_KEY_HASH_SIZE]!;
  const endpoints: string[] = [];
  let at = FIXED - CHECKSUM_SIZE;
  const malformed = () =>
    new MembershipError('EINVITE_FORMAT', 'the invite code is well formed but its endpoint list is not', {
      hint: 'ask the inviter for a new code',
    });
  for (let i = 0; at < body.length; i++) {
    if (i >= MAX_ENDPOINTS) throw malformed();
    const addressLength = families & (1 << i) ? 16 : 4;
    if (at + addressLength + 2 > body.length) throw malformed();
    const address = body.slice(at, at + addressLength);
    const port = (body[at + addressLength]! << 8) | body[at + addressLength + 1]!;
    if (port === 0) throw malformed();
    endpoints.push(formatEndpoint(endpointFromBytes(address, port)));
    at += addressLength + 2;
    if (at === body.length && families >> (i + 1) !== 0) throw malformed();
  }
  return {
    secret: body.slice(0, INVITE_SECRET_SIZE),
    inviterKeyHash: body.slice(INVITE_SECRET_SIZE, INVITE_SECRET_SIZE + INVITE_KEY_HASH_SIZE),
    endpoints,
  };
}
