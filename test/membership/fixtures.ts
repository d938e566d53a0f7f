/** Keys, networks and members for membership tests: deterministic, so a failure replays. */
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { ipv6ForIPv4 } from '../../core/membership/addressing.js';
import {
  certificateGossip,
  signCertificate,
  type UnsignedCertificate,
} from '../../core/membership/certificate.js';
import { keyPairFromSeed } from '../../core/membership/ed25519.js';
import { createNetwork } from '../../core/membership/issue.js';
import type { Network } from '../../core/membership/network.js';
import type { Roster } from '../../core/membership/roster.js';
import type { RandomSource } from '../../core/wireguard/primitives.js';

/** xorshift32 bytes: not secure, only repeatable. */
export function seededRandom(seed: number): RandomSource {
  let s = seed >>> 0 || 1;
  return (length) => {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      s ^= s << 13;
      s >>>= 0;
      s ^= s >>> 17;
      s ^= s << 5;
      s >>>= 0;
      out[i] = s & 0xff;
    }
    return out;
  };
}

export const NOW = Date.UTC(2030, 0, 1);
export const HOUR = 60 * 60 * 1000;
export const YEAR = 365 * 24 * HOUR;

interface KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export interface TestNode {
  name: string;
  /** Only the public half matters to membership; random bytes stand in for an X25519 key. */
  wireguard: { publicKey: Uint8Array };
  signing: KeyPair;
}

export function makeNode(name: string, random: RandomSource): TestNode {
  return { name, wireguard: { publicKey: random(32) }, signing: keyPairFromSeed(random(32)) };
}

export interface TestNetwork {
  network: Network;
  networkKey: KeyPair;
  roster: Roster;
  founder: TestNode;
  random: RandomSource;
}

export function makeNetwork(seed = 1, subnet = '100.80.0.0/16'): TestNetwork {
  const random = seededRandom(seed);
  const founder = makeNode('founder', random);
  const created = createNetwork({
    name: founder.name,
    subnet,
    member: { wireguardKey: founder.wireguard.publicKey, signingKey: founder.signing.publicKey },
    random,
    now: NOW,
  });
  return {
    network: created.network,
    networkKey: created.networkKeyPair,
    roster: created.roster,
    founder,
    random,
  };
}

/** A hand-made certificate, for the cases issueCertificate refuses to make. */
export function certFor(
  net: { network: Network },
  node: TestNode,
  signer: Uint8Array,
  fields: Partial<UnsignedCertificate> & { ipv4: string },
): GossipRecord {
  const base: UnsignedCertificate = {
    kind: 'member',
    networkKey: net.network.key,
    name: node.name,
    ipv4: fields.ipv4,
    ipv6: ipv6ForIPv4(net.network.ipv6Subnet, fields.ipv4),
    wireguardKey: node.wireguard.publicKey,
    signingKey: node.signing.publicKey,
    via: null,
    admin: false,
    issuedAt: NOW,
    notAfter: NOW + YEAR,
  };
  return certificateGossip(signCertificate({ ...base, ...fields }, signer));
}
