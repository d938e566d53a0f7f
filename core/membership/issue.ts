/**
 * What this node signs: a new network (`overlay init`), a member's certificate when an admin
 * accepts a join or adds a WireGuard device, a revocation (`overlay kick`), and its own endpoint
 * record. Each result is offered to the roster before it is returned, so what this node hands out
 * is exactly what every other node will accept, and two issuances in a row never share an address.
 */
import { bytesEqual } from '../base/bytes.js';
import { canonicalEndpoint } from '../base/endpoint.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import type { RandomSource } from '../wireguard/primitives.js';
import {
  allocateIPv4,
  ipv6ForIPv4,
  parseIPv4Subnet,
  randomIPv4Subnet,
  randomIPv6Subnet,
} from './addressing.js';
import { admissionRefusal } from './admission.js';
import {
  type Certificate,
  certificateGossip,
  isMemberName,
  MEMBER_NAME_RULE,
  signCertificate,
  type UnsignedCertificate,
} from './certificate.js';
import { keyPairFromSeed, publicKeyOf } from './ed25519.js';
import { endpointGossip, endpointRecordId, MAX_ENDPOINTS, signEndpointRecord } from './endpointRecord.js';
import { MembershipError } from './membershipError.js';
import { DEFAULT_NETWORK_NAME, isNetworkName, NETWORK_NAME_RULE, type Network } from './network.js';
import type { RetiredMembers } from './retiredMembers.js';
import { revocationGossip, signRevocation } from './revocation.js';
import { Roster } from './roster.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** A member's certificate lasts a year. */
export const DEFAULT_MEMBER_LIFETIME_MS = 365 * DAY_MS;
/** The founder's lasts ten: every certificate it signs stops holding when it expires. */
export const FOUNDER_LIFETIME_MS = 10 * 365 * DAY_MS;

export type MemberRequest =
  | {
      readonly kind: 'member';
      readonly name: string;
      readonly wireguardKey: Uint8Array;
      readonly signingKey: Uint8Array;
      readonly admin?: boolean;
      readonly lifetimeMs?: number;
    }
  | {
      readonly kind: 'wireguard';
      readonly name: string;
      readonly wireguardKey: Uint8Array;
      /** Signing key of the member that hosts the device. */
      readonly via: Uint8Array;
      readonly lifetimeMs?: number;
    };

export interface Issued {
  readonly certificate: Certificate;
  readonly record: GossipRecord;
}

/**
 * Signs a certificate for `request` with `signerSecretKey` (the network's, or an admin member's
 * Ed25519 secret key) and adds it to the roster, at a random free address. Only ever for a new
 * subject: a name or key that any held certificate, revocation or `retired` entry names is
 * refused (admission.ts), so no certificate is issued over another. There is no renewal here: one
 * would need the subject's own signature, and nothing renews yet.
 */
export function issueCertificate(
  roster: Roster,
  request: MemberRequest,
  signerSecretKey: Uint8Array,
  options: { random: RandomSource; now: number; retired?: RetiredMembers },
): Issued {
  const { now } = options;
  if (!isMemberName(request.name)) {
    throw new MembershipError('EUSAGE', `${JSON.stringify(request.name)} is not a valid member name`, {
      hint: `use ${MEMBER_NAME_RULE}`,
    });
  }
  const signer = publicKeyOf(signerSecretKey);
  let notAfter = now + (request.lifetimeMs ?? DEFAULT_MEMBER_LIFETIME_MS);
  if (!bytesEqual(signer, roster.network.key)) {
    const admin = roster.memberBySigningKey(signer, now);
    if (!admin?.certificate.admin) {
      throw new MembershipError('ENOT_ADMIN', 'only an admin of the network can do this', {
        hint: 'ask an admin, or run it on the node that created the network',
      });
    }
    // A certificate stops holding when its issuer's does: say so in the certificate itself.
    notAfter = Math.min(notAfter, admin.certificate.notAfter);
  }

  const draft = {
    kind: request.kind,
    networkKey: roster.network.key,
    name: request.name,
    wireguardKey: request.wireguardKey,
    signingKey: request.kind === 'member' ? request.signingKey : null,
    via: request.kind === 'wireguard' ? request.via : null,
    admin: request.kind === 'member' && request.admin === true,
  };
  const refusal = admissionRefusal(roster, draft, now, options.retired);
  if (refusal) {
    throw new MembershipError(refusal.reason === 'name-taken' ? 'ENAME_TAKEN' : 'EUSAGE', refusal.detail, {
      hint: refusal.reason === 'name-taken' ? 'choose another name' : 'a new member needs new keys',
    });
  }

  const ipv4 = allocateIPv4(roster.network.ipv4Subnet, roster.takenIPv4(), options.random);
  const ipv6 = ipv6ForIPv4(roster.network.ipv6Subnet, ipv4);
  const fields: UnsignedCertificate = {
    ...draft,
    ipv4,
    ipv6,
    issuedAt: now,
    notAfter: Math.max(notAfter, now + 1),
  };
  const certificate = signCertificate(fields, signerSecretKey);
  const record = certificateGossip(certificate);
  const outcome = roster.offerDetailed(record, now);
  if (outcome.result !== 'accepted') {
    throw new MembershipError(
      'EINTERNAL',
      `the roster refused a certificate this node signed: ${outcome.reason}`,
    );
  }
  return { certificate, record };
}

export interface CreatedNetwork {
  readonly network: Network;
  /** The network's Ed25519 key pair: whoever holds the secret key can admit anyone. */
  readonly networkKeyPair: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  readonly roster: Roster;
  /** The founder's certificate: first member, admin, signed by the network key. */
  readonly founder: Issued;
}

/** `overlay init`: a fresh network with this node as its first member and admin. */
export function createNetwork(options: {
  name: string;
  /** The network's name (`init --network-name`); DEFAULT_NETWORK_NAME if absent. */
  networkName?: string;
  /** A user's `--subnet`; a random /16 of 100.64.0.0/10 if absent. */
  subnet?: string;
  member: { wireguardKey: Uint8Array; signingKey: Uint8Array };
  random: RandomSource;
  now: number;
}): CreatedNetwork {
  const { random, now } = options;
  const ipv4Subnet =
    options.subnet === undefined ? randomIPv4Subnet(random) : parseIPv4Subnet(options.subnet);
  const ipv6Subnet = randomIPv6Subnet(random);
  const seed = random(32).slice(0, 32);
  if (seed.length !== 32) throw new MembershipError('EINTERNAL', 'random source gave too few bytes');
  const networkKeyPair = keyPairFromSeed(seed);
  const networkName = options.networkName ?? DEFAULT_NETWORK_NAME;
  if (!isNetworkName(networkName)) {
    throw new MembershipError('EUSAGE', `network name ${JSON.stringify(networkName)} is not valid`, {
      hint: `use ${NETWORK_NAME_RULE}`,
    });
  }
  const network: Network = { key: networkKeyPair.publicKey, ipv4Subnet, ipv6Subnet, name: networkName };
  const roster = new Roster(network);
  const founder = issueCertificate(
    roster,
    {
      kind: 'member',
      name: options.name,
      wireguardKey: options.member.wireguardKey,
      signingKey: options.member.signingKey,
      admin: true,
      lifetimeMs: FOUNDER_LIFETIME_MS,
    },
    networkKeyPair.secretKey,
    { random, now },
  );
  return { network, networkKeyPair, roster, founder };
}

/** `overlay kick NAME`: revokes a member or device for good, signed by the network key or an admin. */
export function kickMember(
  roster: Roster,
  name: string,
  signerSecretKey: Uint8Array,
  now: number,
): GossipRecord {
  const member = roster.memberByName(name, now);
  if (!member) throw new MembershipError('EUSAGE', `no member is named "${name}"`);
  const cert = member.certificate;
  const revocation = signRevocation(
    {
      networkKey: roster.network.key,
      subjectKind: cert.kind === 'member' ? 'signing' : 'wireguard',
      subjectKey: cert.kind === 'member' ? cert.signingKey! : cert.wireguardKey,
      revokedAt: now,
    },
    signerSecretKey,
  );
  const record = revocationGossip(revocation);
  const outcome = roster.offerDetailed(record, now);
  if (outcome.result !== 'accepted') {
    const signer = publicKeyOf(signerSecretKey);
    if (
      !bytesEqual(signer, roster.network.key) &&
      !roster.memberBySigningKey(signer, now)?.certificate.admin
    ) {
      throw new MembershipError('ENOT_ADMIN', 'only an admin of the network can kick members');
    }
    throw new MembershipError(
      'EINTERNAL',
      `the roster refused a revocation this node signed: ${outcome.reason}`,
    );
  }
  return record;
}

/**
 * This member's revocation of itself (`overlay leave`; standing.ts rule 2b): signed by the key it
 * revokes, so no one else can make it.
 */
export function selfRevocation(
  networkKey: Uint8Array,
  signingSecretKey: Uint8Array,
  now: number,
): GossipRecord {
  const fields = {
    networkKey,
    subjectKind: 'signing' as const,
    subjectKey: publicKeyOf(signingSecretKey),
    revokedAt: now,
  };
  return revocationGossip(signRevocation(fields, signingSecretKey));
}

/**
 * This member's own endpoint record. The sequence number is the wall clock, but always above the
 * last one this roster holds, so a clock that stepped back cannot make the new record look stale.
 */
export function publishEndpoints(
  roster: Roster,
  endpoints: readonly string[],
  memberSecretKey: Uint8Array,
  now: number,
  options: { noRelay?: boolean; relayEpoch?: Uint8Array; mapped?: readonly string[] } = {},
): GossipRecord {
  const member = publicKeyOf(memberSecretKey);
  const canonical: string[] = [];
  for (const text of endpoints) {
    const c = canonicalEndpoint(text);
    if (!c) throw new MembershipError('EUSAGE', `${JSON.stringify(text)} is not an ip:port endpoint`);
    if (!canonical.includes(c) && canonical.length < MAX_ENDPOINTS) canonical.push(c);
  }
  const previous = roster.get(endpointRecordId(member))?.version ?? -1;
  const record = endpointGossip(
    signEndpointRecord(
      {
        networkKey: roster.network.key,
        endpoints: canonical,
        seq: Math.max(now, previous + 1),
        ...(options.noRelay && { noRelay: true }),
        ...(options.relayEpoch && { relayEpoch: options.relayEpoch }),
        ...(options.mapped && {
          mapped: options.mapped.flatMap((m) => {
            const c = canonicalEndpoint(m);
            return c && canonical.includes(c) ? [c] : [];
          }),
        }),
      },
      memberSecretKey,
    ),
  );
  const outcome = roster.offerDetailed(record, now);
  if (outcome.result !== 'accepted') {
    throw new MembershipError('EINTERNAL', `the roster refused this node's endpoints: ${outcome.reason}`);
  }
  return record;
}
