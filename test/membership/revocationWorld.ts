/**
 * A network whose admins disagree, as signed records: certificates by the network key, the founder
 * and admins (some short-lived), renewals, revocations in every direction (admins revoking each
 * other, the network key revoking admins, kicks by admins revoked later) and endpoint records.
 * `deliver` hands one set of records to a fresh roster in a given order, offering them again until
 * nothing more is accepted, as anti-entropy keeps re-offering what a peer holds.
 */
import { encodeKey } from '../../core/base/keys.js';
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { endpointGossip, signEndpointRecord } from '../../core/membership/endpointRecord.js';
import { revocationGossip, signRevocation } from '../../core/membership/revocation.js';
import { Roster } from '../../core/membership/roster.js';
import { certFor, makeNetwork, makeNode, NOW, type TestNetwork, type TestNode } from './fixtures.js';

export const ADMINS = 4;
export const MEMBERS = 5;
/** When every roster is judged: after every record was signed, and after short-lived admins expired. */
export const JUDGED_AT = NOW + 200;
/** A short-lived admin's certificate lasts this long: it expires among the revocations' dates. */
export const SHORT_LIFE = 100;

export interface Pool {
  readonly net: TestNetwork;
  readonly admins: readonly TestNode[];
  readonly members: readonly TestNode[];
}

export function makePool(seed = 7): Pool {
  const net = makeNetwork(seed);
  return {
    net,
    admins: Array.from({ length: ADMINS }, (_, i) => makeNode(`admin${i}`, net.random)),
    members: Array.from({ length: MEMBERS }, (_, i) => makeNode(`member${i}`, net.random)),
  };
}

/** Indices are taken modulo the choices they pick from, so any numbers make a valid scenario. */
export interface Scenario {
  /** Issuer: 0 network key, 1 founder, 2.. an earlier admin. `at` ms after NOW. */
  readonly admins: readonly { issuer: number; at: number; short: boolean }[];
  /** Issuer: 0 network key, 1 founder, 2.. any admin. `sameNameAs` copies an earlier member's name. */
  readonly members: readonly {
    issuer: number;
    at: number;
    renewBy: number | null;
    sameNameAs: number | null;
    endpoints: boolean;
  }[];
  /**
   * Issuer as for members, or the subject itself when `self` (a member leaving); subject: 0 founder,
   * then admins, then members. `at` ms after NOW + 10.
   */
  readonly revocations: readonly { issuer: number; subject: number; at: number; self?: boolean }[];
}

/** The founder's certificate and every record of the scenario, in no particular order. */
export function recordsOf(pool: Pool, s: Scenario): GossipRecord[] {
  const { net } = pool;
  const founder = net.roster.get(`cert:${encodeKey(net.founder.signing.publicKey)}`)!;
  const records: GossipRecord[] = [founder];
  const admins = pool.admins.slice(0, s.admins.length);
  const signers = (upTo: number) => [
    net.networkKey.secretKey,
    net.founder.signing.secretKey,
    ...admins.slice(0, upTo).map((a) => a.signing.secretKey),
  ];
  s.admins.forEach((a, i) => {
    const options = signers(i);
    const issuedAt = NOW + a.at;
    records.push(
      certFor(net, admins[i]!, options[a.issuer % options.length]!, {
        ipv4: `100.80.1.${i + 1}`,
        admin: true,
        issuedAt,
        ...(a.short && { notAfter: issuedAt + SHORT_LIFE }),
      }),
    );
  });
  const members = pool.members.slice(0, s.members.length);
  const anySigner = signers(admins.length);
  s.members.forEach((m, i) => {
    const node = members[i]!;
    const name = m.sameNameAs !== null && i > 0 ? members[m.sameNameAs % i]!.name : node.name;
    const ipv4 = `100.80.2.${i + 1}`;
    const issuedAt = NOW + m.at;
    records.push(certFor(net, node, anySigner[m.issuer % anySigner.length]!, { ipv4, name, issuedAt }));
    if (m.renewBy !== null) {
      const signer = anySigner[m.renewBy % anySigner.length]!;
      records.push(certFor(net, node, signer, { ipv4, name, issuedAt: issuedAt + 20 }));
    }
    if (m.endpoints) records.push(endpointsOf(pool, node, NOW + 150 + i));
  });
  const subjects = [net.founder, ...admins, ...members];
  for (const r of s.revocations) {
    const subject = subjects[r.subject % subjects.length]!;
    const signer = r.self ? subject.signing.secretKey : anySigner[r.issuer % anySigner.length]!;
    records.push(revocation(pool, signer, subject, NOW + 10 + r.at));
  }
  return records;
}

export function revocation(
  pool: Pool,
  signer: Uint8Array,
  subject: TestNode,
  revokedAt: number,
): GossipRecord {
  return revocationGossip(
    signRevocation(
      {
        networkKey: pool.net.network.key,
        subjectKind: 'signing',
        subjectKey: subject.signing.publicKey,
        revokedAt,
      },
      signer,
    ),
  );
}

export function endpointsOf(pool: Pool, node: TestNode, seq: number): GossipRecord {
  return endpointGossip(
    signEndpointRecord(
      { networkKey: pool.net.network.key, endpoints: ['192.0.2.1:51820'], seq },
      node.signing.secretKey,
    ),
  );
}

export interface Delivered {
  readonly roster: Roster;
  /** False when a last pass over every record still changed something: the roster never settled. */
  readonly settled: boolean;
}

/**
 * Offers `records` in `order`, pass after pass, until two passes in a row accept nothing (`prune`
 * after each). Two, because a roster remembers a few refused admin certificates that a revocation
 * offered later may need (roster.ts, backing candidates): one idle pass may still have taught it.
 */
export function deliver(
  pool: Pool,
  records: readonly GossipRecord[],
  order: readonly number[],
  options: { now?: number; prune?: boolean } = {},
): Delivered {
  const now = options.now ?? JUDGED_AT;
  const roster = new Roster(pool.net.network);
  let idle = 0;
  for (let pass = 0; pass <= 2 * records.length + 2; pass++) {
    let changed = false;
    for (const i of order) if (roster.offer(records[i]!, now) === 'accepted') changed = true;
    if (options.prune && roster.prune(now) > 0) changed = true;
    idle = changed ? 0 : idle + 1;
    if (idle === 2) return { roster, settled: true };
  }
  return { roster, settled: false };
}

/** What a node shows and spreads: its members (with their endpoints), who is revoked, what it holds. */
export function snapshot(pool: Pool, roster: Roster, now = JUDGED_AT) {
  const everyone = [pool.net.founder, ...pool.admins, ...pool.members];
  return {
    members: roster.members(now).map((m) => `${m.certificate.name} ${m.certificate.ipv4} ${m.endpointsSeq}`),
    revoked: everyone.filter((n) => roster.isRevoked(encodeKey(n.signing.publicKey), now)).map((n) => n.name),
    held: roster
      .summaries()
      .map((s) => `${s.id}@${s.version}`)
      .sort(),
  };
}

export function names(roster: Roster, now = JUDGED_AT): string[] {
  return roster.members(now).map((m) => m.certificate.name);
}
