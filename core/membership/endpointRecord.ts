/**
 * Where a member can be reached right now: its UDP endpoints, signed by the member's own key so
 * that no relay or gossip peer can redirect its traffic. Encoding (version 1):
 *
 *   version u8 = 1 | network key 32 | member signing key 32 | seq u64 (wall-clock ms)
 *   | count u8 (0..8) | count × (family u8 4|6, address 4|16, port u16) | signature 64
 *
 * Version 2 adds `flags u8` after seq; bit 0: the member does not relay for others (--no-relay).
 * It is written only when a flag is set, so a record without flags stays readable by version-1
 * nodes, and a version-2 record with no flag set is refused: every record has one encoding.
 *
 * Version 3 has `flags u8` (bit 0 as above, 0 without it) and `relay epoch 16` after seq: the
 * random epoch of the data path the member runs now, which its relay envelope keys are derived
 * with (native/src/datapath/relay.cc). A node writes version 3 whenever it has an epoch, i.e.
 * always since issue 10; it still reads versions 1 and 2 (a member without an epoch gets no relay
 * key: it cannot relay or be relayed until it runs a version that announces one). The record's
 * seq orders epochs: only a newer record replaces one, so an old epoch never comes back.
 *
 * In version 3, flags bit 1 says which endpoints are port mappings (PCP, NAT-PMP or UPnP: a port
 * the member's gateway forwards to it, open to anyone): `mapped u8` follows the endpoints, bit i
 * for endpoints[i]. Set only with at least one mapped endpoint, and only bits of listed ones, so
 * here too every record has one encoding. A peer tries a mapped endpoint first and shows its kind.
 *
 * Ed25519 by the member over "overlay endpoints v1\0" + every byte before the signature, so the
 * epoch is signed like the rest. At most 307 bytes. The network key is inside what is signed so a
 * record cannot be replayed into another network the same key might belong to.
 */
import { endpointAddressBytes, endpointFromBytes, formatEndpoint, parseEndpoint } from '../base/endpoint.js';
import { encodeKey } from '../base/keys.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Decoded, DecodeFailure, decodeWith, Reader, signedMessage, Writer } from './binary.js';
import { publicKeyOf, signDetached, verifyDetached } from './ed25519.js';
import { MembershipError } from './membershipError.js';

export const ENDPOINT_RECORD_VERSION = 1;
const FLAGS_VERSION = 2;
const EPOCH_VERSION = 3;
const FLAG_NO_RELAY = 1;
const FLAG_MAPPED = 2;
export const RELAY_EPOCH_SIZE = 16;
export const MAX_ENDPOINTS = 8;
const CONTEXT = 'overlay endpoints v1';
const KEY_SIZE = 32;
const SIGNATURE_SIZE = 64;

export interface UnsignedEndpointRecord {
  readonly networkKey: Uint8Array;
  /** Canonical "ip:port" / "[ipv6]:port" texts, at most 8, no duplicates. */
  readonly endpoints: readonly string[];
  /** The member's wall-clock ms when it made the record; the gossip version. */
  readonly seq: number;
  /** The member serves as no relay (--no-relay): peers should not pick it. */
  readonly noRelay?: boolean;
  /** The relay epoch of the member's running data path (16 bytes); absent in version 1 and 2. */
  readonly relayEpoch?: Uint8Array;
  /** Those of `endpoints` the member's gateway forwards to it (port mapping); version 3 only. */
  readonly mapped?: readonly string[];
}

export interface EndpointRecord extends UnsignedEndpointRecord {
  /** The member's signing key: both who the record is about and who signed it. */
  readonly member: Uint8Array;
  readonly signature: Uint8Array;
}

/** How every endpoint record's id starts; the member's signing key (base64) follows. */
export const ENDPOINT_RECORD_PREFIX = 'endpoints:';

export function endpointRecordId(member: Uint8Array): string {
  return `${ENDPOINT_RECORD_PREFIX}${encodeKey(member)}`;
}

function encodeBody(r: UnsignedEndpointRecord, member: Uint8Array): Uint8Array {
  const bad = (reason: string) => new MembershipError('EUSAGE', `cannot encode endpoint record: ${reason}`);
  if (!Number.isSafeInteger(r.seq) || r.seq < 0) throw bad('bad seq');
  if (r.endpoints.length > MAX_ENDPOINTS) throw bad(`more than ${MAX_ENDPOINTS} endpoints`);
  const version = r.relayEpoch ? EPOCH_VERSION : r.noRelay ? FLAGS_VERSION : ENDPOINT_RECORD_VERSION;
  const mapped = mappedMask(r);
  if (mapped === undefined)
    throw bad('a mapped endpoint must be one of the endpoints, in a version 3 record');
  const w = new Writer();
  try {
    w.u8(version).bytes(r.networkKey, KEY_SIZE).bytes(member, KEY_SIZE).time(r.seq);
    const flags = (r.noRelay ? FLAG_NO_RELAY : 0) | (mapped ? FLAG_MAPPED : 0);
    if (r.relayEpoch) w.u8(flags).bytes(r.relayEpoch, RELAY_EPOCH_SIZE);
    else if (r.noRelay) w.u8(FLAG_NO_RELAY);
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
  w.u8(r.endpoints.length);
  const seen = new Set<string>();
  for (const text of r.endpoints) {
    const e = parseEndpoint(text);
    if (!e) throw bad(`${JSON.stringify(text)} is not an ip:port endpoint`);
    const canonical = formatEndpoint(e);
    if (canonical !== text) throw bad(`${JSON.stringify(text)} is not in canonical form (${canonical})`);
    if (seen.has(canonical)) throw bad(`${canonical} is listed twice`);
    seen.add(canonical);
    const address = endpointAddressBytes(e);
    w.u8(address.length === 4 ? 4 : 6)
      .bytes(address, address.length)
      .u16(e.port);
  }
  if (mapped) w.u8(mapped);
  return w.finish();
}

/** The `mapped` byte: bit i for endpoints[i]; 0 for none; undefined when `mapped` names another. */
function mappedMask(r: UnsignedEndpointRecord): number | undefined {
  let mask = 0;
  for (const text of r.mapped ?? []) {
    const i = r.endpoints.indexOf(text);
    if (i < 0 || !r.relayEpoch) return undefined;
    mask |= 1 << i;
  }
  return mask;
}

export function signEndpointRecord(
  fields: UnsignedEndpointRecord,
  memberSecretKey: Uint8Array,
): EndpointRecord {
  const member = publicKeyOf(memberSecretKey);
  const body = encodeBody(fields, member);
  return {
    networkKey: fields.networkKey.slice(),
    endpoints: [...fields.endpoints],
    seq: fields.seq,
    ...(fields.noRelay && { noRelay: true }),
    ...(fields.relayEpoch && { relayEpoch: fields.relayEpoch.slice() }),
    ...(fields.mapped?.length && { mapped: [...new Set(fields.mapped)] }),
    member,
    signature: signDetached(signedMessage(CONTEXT, body), memberSecretKey),
  };
}

export function encodeEndpointRecord(r: EndpointRecord): Uint8Array {
  const body = encodeBody(r, r.member);
  const out = new Uint8Array(body.length + SIGNATURE_SIZE);
  out.set(body, 0);
  out.set(r.signature, body.length);
  return out;
}

/** Strict decode of untrusted bytes; never throws. Does not check the signature. */
export function decodeEndpointRecord(bytes: Uint8Array): Decoded<EndpointRecord> {
  return decodeWith(() => {
    const r = new Reader(bytes);
    const version = r.u8('version');
    if (version !== ENDPOINT_RECORD_VERSION && version !== FLAGS_VERSION && version !== EPOCH_VERSION)
      throw new DecodeFailure(`unknown endpoint record version ${version}`);
    const networkKey = r.bytes(KEY_SIZE, 'network key');
    const member = r.bytes(KEY_SIZE, 'member key');
    const seq = r.time('seq');
    const flags = version === ENDPOINT_RECORD_VERSION ? 0 : r.u8('flags');
    // Version 2 exists only for its flag; version 3 may have none.
    const known = version === EPOCH_VERSION ? FLAG_NO_RELAY | FLAG_MAPPED : FLAG_NO_RELAY;
    if (version === FLAGS_VERSION ? flags !== FLAG_NO_RELAY : (flags & ~known) !== 0)
      throw new DecodeFailure(`unknown endpoint record flags ${flags}`);
    const relayEpoch = version === EPOCH_VERSION ? r.bytes(RELAY_EPOCH_SIZE, 'relay epoch') : undefined;
    const count = r.u8('count');
    if (count > MAX_ENDPOINTS) throw new DecodeFailure(`${count} endpoints, at most ${MAX_ENDPOINTS}`);
    const endpoints: string[] = [];
    for (let i = 0; i < count; i++) {
      const family = r.u8('endpoint family');
      if (family !== 4 && family !== 6) throw new DecodeFailure(`unknown endpoint family ${family}`);
      const address = r.bytes(family === 4 ? 4 : 16, 'endpoint address');
      const port = r.u16('endpoint port');
      if (port === 0) throw new DecodeFailure('endpoint port 0');
      const text = formatEndpoint(endpointFromBytes(address, port));
      if (endpoints.includes(text)) throw new DecodeFailure(`endpoint ${text} listed twice`);
      endpoints.push(text);
    }
    const mapped: string[] = [];
    if (flags & FLAG_MAPPED) {
      const mask = r.u8('mapped');
      if (mask === 0 || mask >> count !== 0) throw new DecodeFailure(`mapped ${mask} for ${count} endpoints`);
      for (let i = 0; i < count; i++) if (mask & (1 << i)) mapped.push(endpoints[i]!);
    }
    const signature = r.bytes(SIGNATURE_SIZE, 'signature');
    r.end();
    return {
      networkKey,
      endpoints,
      seq,
      ...(flags & FLAG_NO_RELAY && { noRelay: true }),
      ...(relayEpoch && { relayEpoch }),
      ...(mapped.length > 0 && { mapped }),
      member,
      signature,
    } satisfies EndpointRecord;
  });
}

/** True iff the member itself signed exactly these endpoints. */
export function verifyEndpointRecord(r: EndpointRecord): boolean {
  if (r.member.length !== KEY_SIZE || r.signature.length !== SIGNATURE_SIZE) return false;
  let body: Uint8Array;
  try {
    body = encodeBody(r, r.member);
  } catch {
    return false;
  }
  return verifyDetached(signedMessage(CONTEXT, body), r.signature, r.member);
}

export function endpointGossip(r: EndpointRecord): GossipRecord {
  return { id: endpointRecordId(r.member), version: r.seq, bytes: encodeEndpointRecord(r) };
}
