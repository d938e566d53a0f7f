/**
 * A member leaving (`overlay leave`): it signs a revocation of its own signing key, and every node
 * that holds its certificate counts it out (core/membership/standing.ts, rule 2b). Only the member's
 * own key can do this for it; a member cannot sign anyone else out, and a leave is judged like an
 * admin's revocation, whatever order gossip delivers it in.
 */
import test from 'ava';
import { encodeKey } from '../../core/base/keys.js';
import { keyPairFromSeed } from '../../core/membership/ed25519.js';
import { Roster } from '../../core/membership/roster.js';
import { certFor, NOW, seededRandom, type TestNode } from './fixtures.js';
import { deliver, JUDGED_AT, makePool, names, revocation } from './revocationWorld.js';

/** The founder, admin a (by the network key), member m (by the founder), member n (by a). */
function world() {
  const pool = makePool(5);
  const { net } = pool;
  const a = pool.admins[0]!;
  const [m, n] = pool.members as [TestNode, TestNode];
  const certs = [
    net.roster.get(`cert:${encodeKey(net.founder.signing.publicKey)}`)!,
    certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', name: 'a', admin: true }),
    certFor(net, m, net.founder.signing.secretKey, { ipv4: '100.80.2.1', name: 'm' }),
    certFor(net, n, a.signing.secretKey, { ipv4: '100.80.2.2', name: 'n' }),
  ];
  return { pool, a, m, n, certs };
}

function inOrders(pool: ReturnType<typeof world>['pool'], records: ReturnType<typeof world>['certs']) {
  const forward = records.map((_, i) => i);
  return [forward, [...forward].reverse(), [2, 4, 0, 3, 1].filter((i) => i < records.length)].map(
    (order) => deliver(pool, records, order).roster,
  );
}

test('a member that signs its own revocation is out on every node, whatever order it arrives in', (t) => {
  const { pool, m, certs } = world();
  const leave = revocation(pool, m.signing.secretKey, m, NOW + 10);
  for (const roster of inOrders(pool, [...certs, leave])) {
    t.deepEqual(names(roster).sort(), ['a', 'founder', 'n']);
    t.true(roster.isRevoked(encodeKey(m.signing.publicKey), JUDGED_AT));
  }
});

test('a member cannot sign another member out: only its own key or an admin chain counts', (t) => {
  const { pool, m, n, certs } = world();
  const forged = revocation(pool, n.signing.secretKey, m, NOW + 10);
  const { roster } = deliver(pool, [...certs, forged], [0, 1, 2, 3, 4]);
  t.deepEqual(names(roster).sort(), ['a', 'founder', 'm', 'n']);
  t.is(roster.offer(forged, JUDGED_AT), 'invalid');
});

test('an admin that leaves takes down the members it admitted, as any revocation of an admin does', (t) => {
  const { pool, a, certs } = world();
  const leave = revocation(pool, a.signing.secretKey, a, NOW + 10);
  for (const roster of inOrders(pool, [...certs, leave])) {
    t.deepEqual(names(roster).sort(), ['founder', 'm']);
  }
});

test('a leave by a key the node holds no certificate for is refused and not kept', (t) => {
  const { pool, certs } = world();
  const { roster } = deliver(pool, certs, [0, 1, 2, 3]);
  const before = roster.summaries().length;
  const random = seededRandom(3);
  for (let i = 0; i < 50; i++) {
    const stranger: TestNode = {
      name: `x${i}`,
      wireguard: { publicKey: random(32) },
      signing: keyPairFromSeed(random(32)),
    };
    t.is(
      roster.offer(revocation(pool, stranger.signing.secretKey, stranger, NOW + 10), JUDGED_AT),
      'invalid',
    );
  }
  t.is(roster.summaries().length, before);
});

test('a kicked member that then leaves adds one record at most, and stays out', (t) => {
  const { pool, a, n, certs } = world();
  const kick = revocation(pool, a.signing.secretKey, n, NOW + 10);
  const leave = revocation(pool, n.signing.secretKey, n, NOW + 20);
  const later = revocation(pool, n.signing.secretKey, n, NOW + 30);
  const { roster } = deliver(pool, [...certs, kick, leave, later], [0, 1, 2, 3, 4, 5, 6]);
  const ofN = roster.revoked().filter((r) => encodeKey(r.subjectKey) === encodeKey(n.signing.publicKey));
  t.is(ofN.length, 2, 'the kick and the newest leave');
  t.false(names(roster).includes('n'));
});

test("a leave restored from the node's own file counts as it did when offered", (t) => {
  const { pool, m, certs } = world();
  const leave = revocation(pool, m.signing.secretKey, m, NOW + 10);
  const { roster } = deliver(pool, [...certs, leave], [0, 1, 2, 3, 4]);
  const back = new Roster(pool.net.network);
  for (const r of roster.records()) t.is(back.restore(r), undefined);
  back.prune(JUDGED_AT);
  t.deepEqual(names(back).sort(), ['a', 'founder', 'n']);
});
