/**
 * What an inviter hands a new member inside the sealed join accept: the network (its key,
 * subnets and name) and the records the joiner needs to start — its own certificate, and the inviter's
 * certificate chain and endpoints, so that its first `up` can reach the inviter and learn the
 * rest of the roster by gossip. Every record is checked again by the joiner's roster: the seal
 * proves who sent them, the signatures prove what they say.
 */
import type { GossipRecord } from '../gossip/recordStore.js';
import { formatSubnet, parseIPv4Subnet, parseIPv6Subnet } from '../membership/addressing.js';
import { type Decoded, DecodeFailure, decodeWith, Reader, Writer } from '../membership/binary.js';
import { DEFAULT_NETWORK_NAME, isNetworkName, type Network } from '../membership/network.js';

/**
 * Version 2 carries the network's name after the subnets. Version 1 (an inviter from before
 * networks had names) is still read, as a network named DEFAULT_NETWORK_NAME.
 */
const VERSION = 2;
const VERSION_WITHOUT_NAME = 1;

export interface JoinAcceptPayload {
  network: Network;
  /** The new member's certificate record first, then what lets it reach the network. */
  records: GossipRecord[];
}

const text = (s: string) => new TextEncoder().encode(s);

function networkHead(network: Network): Writer {
  return new Writer()
    .u8(VERSION)
    .bytes(network.key, 32)
    .short(text(formatSubnet(network.ipv4Subnet)))
    .short(text(formatSubnet(network.ipv6Subnet)))
    .short(text(network.name));
}

export function encodeJoinAccept(p: JoinAcceptPayload, maxBytes: number): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = networkHead(p.network).finish().length + 1;
  for (const r of p.records) {
    const encoded = new Writer().short(text(r.id)).time(r.version).u16(r.bytes.length).finish();
    const total = encoded.length + r.bytes.length;
    // The first record (the joiner's certificate) must fit; the others are a head start only.
    if (size + total > maxBytes) {
      if (parts.length === 0) throw new RangeError('the certificate does not fit in a join accept');
      break;
    }
    parts.push(encoded, r.bytes);
    size += total;
  }
  const count = parts.length / 2;
  const out = new Uint8Array(size);
  const headBytes = networkHead(p.network).u8(count).finish();
  out.set(headBytes, 0);
  let at = headBytes.length;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

export function decodeJoinAccept(bytes: Uint8Array): Decoded<JoinAcceptPayload> {
  return decodeWith(() => {
    const r = new Reader(bytes);
    const version = r.u8('version');
    if (version !== VERSION && version !== VERSION_WITHOUT_NAME) {
      throw new DecodeFailure('unknown join accept version');
    }
    const key = r.bytes(32, 'network key');
    const decoder = new TextDecoder('utf-8', { fatal: true });
    let network: Network;
    try {
      network = {
        key,
        ipv4Subnet: parseIPv4Subnet(decoder.decode(r.short('ipv4 subnet'))),
        ipv6Subnet: parseIPv6Subnet(decoder.decode(r.short('ipv6 subnet'))),
        name: version === VERSION ? decoder.decode(r.short('network name')) : DEFAULT_NETWORK_NAME,
      };
    } catch (e) {
      if (e instanceof DecodeFailure) throw e;
      throw new DecodeFailure('bad subnet or network name');
    }
    if (!isNetworkName(network.name)) throw new DecodeFailure('bad network name');
    const count = r.u8('record count');
    if (count === 0) throw new DecodeFailure('no certificate');
    const records: GossipRecord[] = [];
    for (let i = 0; i < count; i++) {
      const id = decoder.decode(r.short('record id'));
      const version = r.time('record version');
      const body = r.bytes(r.u16('record length'), 'record');
      records.push({ id, version, bytes: body });
    }
    r.end();
    return { network, records };
  });
}
