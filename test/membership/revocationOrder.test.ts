/**
 * Revocations that disagree: every node must reach the same roster from the same records, whatever
 * order gossip delivers them in (core/membership/standing.ts, "Who is out").
 */
import { deepStrictEqual } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import { encodeKey, type PeerId } from '../../core/base/keys.js';
import { Gossip } from '../../core/gossip/gossip.js';
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { keyPairFromSeed } from '../../core/membership/ed25519.js';
import { Roster } from '../../core/membership/roster.js';
import { MAX_ADMIN_REVOCATIONS_PER_SUBJECT } from '../../core/membership/standing.js';
import { namedPeer } from '../helpers/peerIds.js';
import { seededUniform } from '../helpers/seeded.js';
import { certFor, HOUR, makeNode, NOW, seededRandom, type TestNode } from './fixtures.js';
import {
  deliver,
  endpointsOf,
  JUDGED_AT,
  makePool,
  names,
  type Pool,
  recordsOf,
  revocation,
  type Scenario,
  snapshot,
} from './revocationWorld.js';

/** The founder, two admins (a, b) certified by the network key, and a member m the founder admitted. */
function fight() {
  const pool = makePool(3);
  const { net } = pool;
  const [a, b] = pool.admins as [TestNode, TestNode];
  const m = pool.members[0]!;
  const certs = [
    net.roster.get(`cert:${encodeKey(net.founder.signing.publicKey)}`)!,
    certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', name: 'a', admin: true }),
    certFor(net, b, net.networkKey.secretKey, { ipv4: '100.80.1.2', name: 'b', admin: true }),
    certFor(net, m, net.founder.signing.secretKey, { ipv4: '100.80.2.1', name: 'm' }),
  ];
  return { pool, a, b, m, certs };
}

function permutations(n: number): number[][] {
  if (n === 0) return [[]];
  return permutations(n - 1).flatMap((p) =>
    p.map((_, i) => [...p.slice(0, i), n - 1, ...p.slice(i)]).concat([[...p, n - 1]]),
  );
}

/** Rosters that got `certs` and then `records` in every order: each has `expected` members, all the same roster. */
function everyOrder(
  t: ExecutionContext,
  pool: Pool,
  certs: GossipRecord[],
  records: GossipRecord[],
  expected: string[],
) {
  const all = [...certs, ...records];
  const seen = permutations(records.length).map((order) => {
    const { roster } = deliver(pool, all, [...certs.map((_, i) => i), ...order.map((i) => certs.length + i)]);
    t.deepEqual(names(roster).sort(), [...expected].sort(), `order ${order.join(',')}`);
    return snapshot(pool, roster);
  });
  for (const other of seen.slice(1)) t.deepEqual(other, seen[0]);
}

test('two admins who revoke each other are both out on every node, whatever order the revocations arrive in', (t) => {
  const { pool, a, b, certs } = fight();
  const aRevokesB = revocation(pool, a.signing.secretKey, b, NOW + 10);
  const bRevokesA = revocation(pool, b.signing.secretKey, a, NOW + 11);
  everyOrder(t, pool, certs, [aRevokesB, bRevokesA], ['founder', 'm']);
});

test('the network key settles a fight between admins: revoking one voids its revocations, so the other is back', (t) => {
  const { pool, a, b, certs } = fight();
  const aRevokesB = revocation(pool, a.signing.secretKey, b, NOW + 10);
  const bRevokesA = revocation(pool, b.signing.secretKey, a, NOW + 11);
  const networkRevokesA = revocation(pool, pool.net.networkKey.secretKey, a, NOW + 50);
  everyOrder(t, pool, certs, [aRevokesB, bRevokesA, networkRevokesA], ['b', 'founder', 'm']);
});

test('a revoked admin cannot come back by revoking its revoker with an earlier date', (t) => {
  const { pool, a, b, certs } = fight();
  const bRevokesA = revocation(pool, b.signing.secretKey, a, NOW + 20);
  const backdated = revocation(pool, a.signing.secretKey, b, NOW + 5);
  everyOrder(t, pool, certs, [bRevokesA, backdated], ['founder', 'm']);
});

test('a member kicked by an admin stays out on every node when that admin is revoked later by another admin', (t) => {
  const { pool, a, b, m, certs } = fight();
  const kick = revocation(pool, a.signing.secretKey, m, NOW + 10);
  const bRevokesA = revocation(pool, b.signing.secretKey, a, NOW + 20);
  everyOrder(t, pool, certs, [kick, bRevokesA], ['b', 'founder']);
});

test('a member kicked by an admin is back on every node when the network key revokes that admin', (t) => {
  const { pool, a, m, certs } = fight();
  const kick = revocation(pool, a.signing.secretKey, m, NOW + 10);
  const networkRevokesA = revocation(pool, pool.net.networkKey.secretKey, a, NOW + 20);
  everyOrder(t, pool, certs, [kick, networkRevokesA], ['b', 'founder', 'm']);
});

test("an admin's kick still counts after the admin's certificate expired, on a node that hears of it only then", (t) => {
  const { pool, m } = fight();
  const { net } = pool;
  const shortAdmin = makeNode('short', net.random);
  const founderCert = net.roster.get(`cert:${encodeKey(net.founder.signing.publicKey)}`)!;
  const shortCert = certFor(net, shortAdmin, net.networkKey.secretKey, {
    ipv4: '100.80.1.9',
    admin: true,
    notAfter: NOW + HOUR,
  });
  const mCert = certFor(net, m, net.founder.signing.secretKey, { ipv4: '100.80.2.1', name: 'm' });
  const kick = revocation(pool, shortAdmin.signing.secretKey, m, NOW + 10);
  const tooLate = revocation(pool, shortAdmin.signing.secretKey, pool.net.founder, NOW + HOUR + 1);
  const later = NOW + 2 * HOUR;
  const records = [founderCert, mCert, shortCert, kick, tooLate];
  for (const order of [
    [0, 1, 2, 3, 4],
    [4, 3, 2, 1, 0],
    [3, 0, 4, 1, 2],
  ]) {
    const { roster } = deliver(pool, records, order, { now: later });
    t.deepEqual(names(roster, later), ['founder'], `order ${order.join(',')}`);
    t.true(roster.isRevoked(encodeKey(m.signing.publicKey), later));
  }
});

test('revocations of keys the node holds no certificate for are not kept, from a valid admin or a revoked one', (t) => {
  const { pool, a, b, certs } = fight();
  const roster = deliver(
    pool,
    certs,
    certs.map((_, i) => i),
  ).roster;
  const before = roster.summaries().length;
  const random = seededRandom(11);
  for (let i = 0; i < 200; i++) {
    const stranger: TestNode = {
      name: `x${i}`,
      wireguard: { publicKey: random(32) },
      signing: keyPairFromSeed(random(32)),
    };
    roster.offer(revocation(pool, a.signing.secretKey, stranger, NOW + 10 + i), JUDGED_AT);
  }
  t.is(roster.summaries().length, before);
  roster.offer(revocation(pool, b.signing.secretKey, a, NOW + 500), JUDGED_AT);
  for (let i = 0; i < 200; i++) {
    const stranger: TestNode = {
      name: `y${i}`,
      wireguard: { publicKey: random(32) },
      signing: keyPairFromSeed(random(32)),
    };
    roster.offer(revocation(pool, a.signing.secretKey, stranger, NOW + 10 + i), JUDGED_AT);
  }
  t.is(roster.summaries().length, before + 1);
});

test('a revoked admin that certifies admins to revoke one member adds a bounded number of records', (t) => {
  const { pool, a, b, m, certs } = fight();
  const records = [...certs, revocation(pool, b.signing.secretKey, a, NOW + 500)];
  for (let i = 0; i < MAX_ADMIN_REVOCATIONS_PER_SUBJECT + 6; i++) {
    const minion = makeNode(`minion${i}`, pool.net.random);
    records.push(
      certFor(pool.net, minion, a.signing.secretKey, {
        ipv4: `100.80.3.${i + 1}`,
        admin: true,
        issuedAt: NOW + 1,
      }),
    );
    records.push(revocation(pool, minion.signing.secretKey, m, NOW + 2 + i));
  }
  const { roster, settled } = deliver(
    pool,
    records,
    records.map((_, i) => i),
  );
  t.true(settled);
  const revocationsOfM = roster
    .revoked()
    .filter((r) => encodeKey(r.subjectKey) === encodeKey(m.signing.publicKey));
  t.is(revocationsOfM.length, MAX_ADMIN_REVOCATIONS_PER_SUBJECT);
  // certs (4) + b's revocation of a + at most MAX revocations of m, each backed by its minion's certificate
  t.true(roster.summaries().length <= 5 + 2 * MAX_ADMIN_REVOCATIONS_PER_SUBJECT);
  t.false(names(roster).includes('m'));
});

const scenario: fc.Arbitrary<Scenario> = fc.record({
  admins: fc.array(fc.record({ issuer: fc.nat(9), at: fc.nat(50), short: fc.boolean() }), {
    minLength: 1,
    maxLength: 4,
  }),
  members: fc.array(
    fc.record({
      issuer: fc.nat(9),
      at: fc.nat(50),
      renewBy: fc.option(fc.nat(9)),
      sameNameAs: fc.option(fc.nat(9), { freq: 6 }),
      endpoints: fc.boolean(),
    }),
    { maxLength: 5 },
  ),
  revocations: fc.array(
    fc.record({ issuer: fc.nat(9), subject: fc.nat(9), at: fc.nat(100), self: fc.boolean() }),
    {
      maxLength: 8,
    },
  ),
});

/** A permutation of 0..n-1 from n random keys. */
const orderOf = (keys: number[]) =>
  keys
    .map((k, i) => [k, i] as const)
    .sort((x, y) => x[0] - y[0] || x[1] - y[1])
    .map(([, i]) => i);

test('any delivery order of the same records gives the same roster: members, who is revoked, what is held', (t) => {
  const pool = makePool();
  const property = fc.property(
    scenario.chain((s) => {
      const n = recordsOf(pool, s).length;
      const keys = fc.array(fc.nat(), { minLength: n, maxLength: n });
      return fc.tuple(fc.constant(s), keys, keys);
    }),
    ([s, keysA, keysB]) => {
      const records = recordsOf(pool, s);
      const sorted = deliver(
        pool,
        records,
        records.map((_, i) => i),
      );
      const a = deliver(pool, records, orderOf(keysA));
      const b = deliver(pool, records, orderOf(keysB), { prune: true });
      deepStrictEqual([sorted.settled, a.settled, b.settled], [true, true, true], 'every roster settles');
      const expected = snapshot(pool, sorted.roster);
      deepStrictEqual(snapshot(pool, a.roster), expected, 'another order');
      deepStrictEqual(snapshot(pool, b.roster), expected, 'another order, pruned after each pass');
      // What a node saved comes back the same after a restart.
      const back = new Roster(pool.net.network);
      for (const r of a.roster.records()) deepStrictEqual(back.restore(r), undefined, 'restore');
      back.prune(JUDGED_AT);
      deepStrictEqual(snapshot(pool, back), expected, 'restored from disk');
    },
  );
  t.notThrows(() => fc.assert(property, { numRuns: 150, seed: 42 }));
});

test('endpoint records of revoked or unknown members are not kept, whatever the order', (t) => {
  const { pool, a, m, certs } = fight();
  const kick = revocation(pool, a.signing.secretKey, m, NOW + 10);
  const ep = endpointsOf(pool, m, NOW + 30);
  const records = [...certs, kick, ep];
  for (const order of [
    [0, 1, 2, 3, 5, 4],
    [5, 4, 3, 2, 1, 0],
  ]) {
    const { roster } = deliver(pool, records, order);
    t.false(roster.summaries().some((s) => s.id === ep.id));
  }
});

/** Nodes holding rosters, gossiping synchronously: every message and answer is delivered at once. */
function gossipCluster(pool: Pool, rosters: Roster[], seed: number) {
  const random = seededUniform(seed);
  const ids = rosters.map((_, i) => namedPeer(`n${i}`));
  const gossips = rosters.map((store, i) => new Gossip({ self: ids[i]!, store, random }));
  const round = (now: number) => {
    for (let i = 0; i < gossips.length; i++) {
      const queue: { from: number; to: PeerId; message: Uint8Array }[] = gossips[i]!.tick(now, ids).send.map(
        (s) => ({ from: i, ...s }),
      );
      for (let moved = 0; queue.length > 0 && moved < 10_000; moved++) {
        const m = queue.shift()!;
        const to = ids.indexOf(m.to);
        const out = gossips[to]!.receive(ids[m.from]!, m.message, now);
        queue.push(...out.send.map((s) => ({ from: to, ...s })));
      }
    }
  };
  const agreed = () =>
    rosters.every((r) => isDeepStrictEqual(snapshot(pool, r), snapshot(pool, rosters[0]!)));
  return { round, agreed };
}

test('gossip brings every node to the roster one node reaches from all the records held anywhere', (t) => {
  const pool = makePool();
  const property = fc.property(
    scenario,
    fc.array(fc.nat(3), { minLength: 40, maxLength: 40 }),
    fc.nat(),
    (s, holders, seed) => {
      const records = recordsOf(pool, s);
      // Each node starts with every certificate and a share of the revocations and endpoints.
      const rosters = [0, 1, 2, 3].map((n) => {
        const share = records.filter((r, i) => r.id.startsWith('cert:') || holders[i % holders.length] === n);
        return deliver(
          pool,
          share,
          share.map((_, i) => i),
        ).roster;
      });
      const heldSomewhere = [
        ...new Map(rosters.flatMap((r) => r.records()).map((r) => [`${r.id}@${r.version}`, r])).values(),
      ];
      const expected = snapshot(
        pool,
        deliver(
          pool,
          heldSomewhere,
          heldSomewhere.map((_, i) => i),
        ).roster,
      );
      const { round, agreed } = gossipCluster(pool, rosters, seed);
      for (let r = 1; r <= 30 && !agreed(); r++) round(JUDGED_AT + r * 2_000);
      for (const roster of rosters) deepStrictEqual(snapshot(pool, roster), expected);
    },
  );
  t.notThrows(() => fc.assert(property, { numRuns: 25, seed: 7 }));
});
