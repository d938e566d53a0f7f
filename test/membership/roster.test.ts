/** The roster as gossip and the node use it: what it accepts, what it refuses, who the members are. */
import test from 'ava';
import { encodeKey } from '../../core/base/keys.js';
import { decodeCertificate, subjectOf } from '../../core/membership/certificate.js';
import { endpointGossip, signEndpointRecord } from '../../core/membership/endpointRecord.js';
import { issueCertificate, kickMember, publishEndpoints } from '../../core/membership/issue.js';
import { revocationGossip, signRevocation } from '../../core/membership/revocation.js';
import { Roster } from '../../core/membership/roster.js';
import {
  certFor,
  HOUR,
  makeNetwork,
  makeNode,
  NOW,
  seededRandom,
  type TestNetwork,
  type TestNode,
  YEAR,
} from './fixtures.js';

function join(net: TestNetwork, node: TestNode, signer: Uint8Array, admin = false) {
  return issueCertificate(
    net.roster,
    {
      kind: 'member',
      name: node.name,
      wireguardKey: node.wireguard.publicKey,
      signingKey: node.signing.publicKey,
      admin,
    },
    signer,
    { random: net.random, now: NOW },
  );
}

/** A roster of the same network that has seen nothing yet, as a new peer would be. */
function freshPeer(net: TestNetwork): Roster {
  return new Roster(net.network);
}

test('the founder of a new network is its one member, an admin signed by the network key', (t) => {
  const net = makeNetwork();
  const members = net.roster.members(NOW);
  t.is(members.length, 1);
  const cert = members[0]!.certificate;
  t.is(cert.name, 'founder');
  t.true(cert.admin);
  t.deepEqual(cert.issuer, net.network.key);
  t.true(net.roster.isAllowed(net.founder.wireguard.publicKey, NOW));
});

test('a certificate issued by an admin member is accepted through the chain', (t) => {
  const net = makeNetwork();
  const admin = makeNode('admin', net.random);
  const adminCert = join(net, admin, net.networkKey.secretKey, true);
  const leaf = makeNode('leaf', net.random);
  const leafCert = join(net, leaf, admin.signing.secretKey);
  const peer = freshPeer(net);
  // Out of order: the leaf before its issuer is refused, then accepted once the issuer is known.
  t.is(peer.offerDetailed(leafCert.record, NOW).reason, 'certificate unknown-issuer');
  t.is(peer.offer(net.roster.get(`cert:${encodeKey(net.founder.signing.publicKey)}`)!, NOW), 'accepted');
  t.is(peer.offer(adminCert.record, NOW), 'accepted');
  t.is(peer.offer(leafCert.record, NOW), 'accepted');
  t.is(peer.memberByName('leaf', NOW)?.certificate.ipv4, leafCert.certificate.ipv4);
  t.true(peer.isAllowed(leaf.wireguard.publicKey, NOW));
});

test('an expired certificate is refused and a held one stops counting when it expires', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const expired = certFor(net, a, net.networkKey.secretKey, {
    ipv4: '100.80.1.1',
    issuedAt: NOW - 2 * HOUR,
    notAfter: NOW - HOUR,
  });
  t.is(net.roster.offerDetailed(expired, NOW).reason, 'certificate expired');
  const short = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', notAfter: NOW + HOUR });
  t.is(net.roster.offer(short, NOW), 'accepted');
  t.true(net.roster.isAllowed(a.wireguard.publicKey, NOW + HOUR - 1));
  t.false(net.roster.isAllowed(a.wireguard.publicKey, NOW + HOUR));
  t.is(net.roster.statusOf(encodeKey(a.signing.publicKey), NOW + HOUR), 'expired');
});

test('a certificate of another network is refused', (t) => {
  const net = makeNetwork(1);
  const other = makeNetwork(2);
  const a = makeNode('a', net.random);
  const foreign = certFor(other, a, other.networkKey.secretKey, { ipv4: '100.80.1.1' });
  t.is(net.roster.offerDetailed(foreign, NOW).reason, 'certificate of another network');
  // Same network key field but signed by the other network's key: the issuer is unknown here.
  const mislabeled = certFor(net, a, other.networkKey.secretKey, { ipv4: '100.80.1.1' });
  t.is(net.roster.offer(mislabeled, NOW), 'invalid');
  t.false(net.roster.isAllowed(a.wireguard.publicKey, NOW));
});

test('a certificate from an unknown issuer or a non-admin member is refused', (t) => {
  const net = makeNetwork();
  const stranger = makeNode('stranger', net.random);
  const a = makeNode('a', net.random);
  t.is(
    net.roster.offerDetailed(certFor(net, a, stranger.signing.secretKey, { ipv4: '100.80.1.1' }), NOW).reason,
    'certificate unknown-issuer',
  );
  const plain = makeNode('plain', net.random);
  join(net, plain, net.networkKey.secretKey, false);
  t.is(
    net.roster.offerDetailed(certFor(net, a, plain.signing.secretKey, { ipv4: '100.80.1.1' }), NOW).reason,
    'certificate issuer-not-admin',
  );
});

test('a certificate whose address is outside the network subnets is refused', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  for (const ipv4 of ['100.81.0.1', '100.80.3.0', '100.80.3.255', '10.0.0.1']) {
    t.is(net.roster.offer(certFor(net, a, net.networkKey.secretKey, { ipv4 }), NOW), 'invalid', ipv4);
  }
  const wrongV6 = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', ipv6: 'fd99::1' });
  t.is(net.roster.offer(wrongV6, NOW), 'invalid');
});

test('a revoked member is refused: its certificate, its endpoints, its handshakes', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const issued = join(net, a, net.networkKey.secretKey);
  publishEndpoints(net.roster, ['192.0.2.10:51820'], a.signing.secretKey, NOW);
  const kick = kickMember(net.roster, 'a', net.networkKey.secretKey, NOW + 1);
  t.false(net.roster.isAllowed(a.wireguard.publicKey, NOW + 1));
  t.true(net.roster.isRevoked(encodeKey(a.signing.publicKey), NOW + 1));
  t.is(net.roster.get(issued.record.id), undefined);
  t.is(net.roster.get(`endpoints:${encodeKey(a.signing.publicKey)}`), undefined);
  // A fresh re-issue and fresh endpoints are refused too.
  const again = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.9.9', issuedAt: NOW + 2 });
  t.is(net.roster.offerDetailed(again, NOW + 2).reason, 'member is revoked');
  const ep = endpointGossip(
    signEndpointRecord(
      { networkKey: net.network.key, endpoints: ['192.0.2.11:1'], seq: NOW + 3 },
      a.signing.secretKey,
    ),
  );
  t.is(net.roster.offer(ep, NOW + 3), 'invalid');
  // A peer that gets the revocation before the certificate refuses the certificate.
  const peer = freshPeer(net);
  t.is(peer.offer(kick, NOW + 1), 'accepted');
  t.is(peer.offer(issued.record, NOW + 1), 'invalid');
});

test("a revoked admin's certificates stop holding, everywhere in its chain", (t) => {
  const net = makeNetwork();
  const admin = makeNode('admin', net.random);
  join(net, admin, net.networkKey.secretKey, true);
  const sub = makeNode('sub', net.random);
  join(net, sub, admin.signing.secretKey, true);
  const leaf = makeNode('leaf', net.random);
  join(net, leaf, sub.signing.secretKey);
  t.true(net.roster.isAllowed(leaf.wireguard.publicKey, NOW));
  kickMember(net.roster, 'admin', net.networkKey.secretKey, NOW + 1);
  t.false(net.roster.isAllowed(sub.wireguard.publicKey, NOW + 1));
  t.false(net.roster.isAllowed(leaf.wireguard.publicKey, NOW + 1));
  t.deepEqual(
    net.roster.members(NOW + 1).map((m) => m.certificate.name),
    ['founder'],
  );
});

test('a revocation signed by a non-admin is refused', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const b = makeNode('b', net.random);
  join(net, a, net.networkKey.secretKey);
  join(net, b, net.networkKey.secretKey);
  const r = revocationGossip(
    signRevocation(
      {
        networkKey: net.network.key,
        subjectKind: 'signing',
        subjectKey: b.signing.publicKey,
        revokedAt: NOW,
      },
      a.signing.secretKey,
    ),
  );
  t.is(net.roster.offerDetailed(r, NOW).reason, 'revocation issuer: signer is not an admin');
  t.true(net.roster.isAllowed(b.wireguard.publicKey, NOW));
  t.throws(() => kickMember(net.roster, 'b', a.signing.secretKey, NOW), { message: /only an admin/ });
});

test('chains verify up to four certificates and no further', (t) => {
  const net = makeNetwork();
  // founder (1) → a2 (2) → a3 (3) → leaf4 (4) is fine; → leaf5 (5) is too long.
  const a2 = makeNode('a2', net.random);
  join(net, a2, net.founder.signing.secretKey, true);
  const a3 = makeNode('a3', net.random);
  join(net, a3, a2.signing.secretKey, true);
  const a4 = makeNode('a4', net.random);
  join(net, a4, a3.signing.secretKey, true);
  t.true(net.roster.isAllowed(a4.wireguard.publicKey, NOW));
  const leaf5 = makeNode('leaf5', net.random);
  const tooDeep = certFor(net, leaf5, a4.signing.secretKey, { ipv4: '100.80.7.7' });
  t.is(net.roster.offerDetailed(tooDeep, NOW).reason, 'certificate chain-too-long');
});

test('admins that certify each other in a loop, without the network key, are refused', (t) => {
  const net = makeNetwork();
  const x = makeNode('x', net.random);
  const y = makeNode('y', net.random);
  const peer = freshPeer(net);
  const xByY = certFor(net, x, y.signing.secretKey, { ipv4: '100.80.1.1', admin: true });
  const yByX = certFor(net, y, x.signing.secretKey, { ipv4: '100.80.1.2', admin: true });
  t.is(peer.offer(xByY, NOW), 'invalid');
  t.is(peer.offer(yByX, NOW), 'invalid');
  t.is(peer.members(NOW).length, 0);
});

test('two certificates claiming one name: the first issued holds it, whatever the arrival order', (t) => {
  const net = makeNetwork();
  const a = makeNode('same', net.random);
  const b = makeNode('same', net.random);
  const first = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', issuedAt: NOW });
  const second = certFor(net, b, net.networkKey.secretKey, { ipv4: '100.80.1.2', issuedAt: NOW + 5 });
  const p1 = freshPeer(net);
  t.is(p1.offer(first, NOW + 5), 'accepted');
  // Kept, shadowed: it holds the name once the first goes, and every node holds the same records.
  t.is(p1.offer(second, NOW + 5), 'accepted');
  const p2 = freshPeer(net);
  t.is(p2.offer(second, NOW + 5), 'accepted');
  t.is(p2.offer(first, NOW + 5), 'accepted');
  for (const p of [p1, p2]) {
    t.deepEqual(p.memberByName('same', NOW + 5)?.certificate.wireguardKey, a.wireguard.publicKey);
    t.false(p.isAllowed(b.wireguard.publicKey, NOW + 5));
    t.is(p.statusOf(encodeKey(b.signing.publicKey), NOW + 5), 'shadowed');
  }
  const ids = (p: Roster) =>
    p
      .summaries()
      .map((s) => s.id)
      .sort();
  t.deepEqual(ids(p1), ids(p2));
});

test('two certificates claiming one address issued at the same time: the same one wins on every node', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const b = makeNode('b', net.random);
  const ca = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1' });
  const cb = certFor(net, b, net.networkKey.secretKey, { ipv4: '100.80.1.1' });
  const p1 = freshPeer(net);
  p1.offer(ca, NOW);
  p1.offer(cb, NOW);
  const p2 = freshPeer(net);
  p2.offer(cb, NOW);
  p2.offer(ca, NOW);
  const holder1 = p1.memberByAddress('100.80.1.1', NOW)?.certificate.name;
  const holder2 = p2.memberByAddress('100.80.1.1', NOW)?.certificate.name;
  t.truthy(holder1);
  t.is(holder1, holder2);
  t.is(p1.members(NOW).length, 1);
  t.is(p2.members(NOW).length, 1);
});

test('offer says accepted, then stale for the same or an older version, and is idempotent', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const v1 = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', issuedAt: NOW });
  const v2 = certFor(net, a, net.networkKey.secretKey, {
    ipv4: '100.80.1.1',
    issuedAt: NOW + 10,
    name: 'renamed',
  });
  t.is(net.roster.offer(v1, NOW + 10), 'accepted');
  const before = net.roster.summaries();
  t.is(net.roster.offer(v1, NOW + 10), 'stale');
  t.deepEqual(net.roster.summaries(), before);
  t.is(net.roster.offer(v2, NOW + 10), 'accepted');
  t.is(net.roster.offer(v1, NOW + 10), 'stale');
  t.is(net.roster.offer(v2, NOW + 10), 'stale');
  t.is(net.roster.get(v2.id)?.version, NOW + 10);
  t.is(net.roster.memberByName('renamed', NOW + 10)?.certificate.ipv4, '100.80.1.1');
  t.is(net.roster.memberByName('a', NOW + 10), undefined);
});

test('a record whose id or version does not match its bytes is invalid', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const r = certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1' });
  t.is(net.roster.offer({ ...r, version: r.version + 1 }, NOW), 'invalid');
  t.is(net.roster.offer({ ...r, id: `cert:${encodeKey(net.founder.signing.publicKey)}` }, NOW), 'invalid');
  t.is(net.roster.offer({ ...r, id: 'bogus:x' }, NOW), 'invalid');
  t.is(net.roster.offer({ ...r, bytes: new Uint8Array(1001) }, NOW), 'invalid');
  t.is(net.roster.offer(r, NOW), 'accepted');
});

test('an endpoint record counts only when signed by the member itself', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  join(net, a, net.networkKey.secretKey);
  const forged = endpointGossip(
    signEndpointRecord(
      { networkKey: net.network.key, endpoints: ['203.0.113.66:1'], seq: NOW },
      net.founder.signing.secretKey,
    ),
  );
  // Signed by the founder, so it speaks for the founder only: it cannot be passed off as a's.
  t.is(net.roster.offer({ ...forged, id: `endpoints:${encodeKey(a.signing.publicKey)}` }, NOW), 'invalid');
  const stranger = makeNode('stranger', net.random);
  const unknown = endpointGossip(
    signEndpointRecord(
      { networkKey: net.network.key, endpoints: ['203.0.113.66:1'], seq: NOW },
      stranger.signing.secretKey,
    ),
  );
  t.is(net.roster.offerDetailed(unknown, NOW).reason, 'not a current member');
  publishEndpoints(net.roster, ['198.51.100.7:51820', '[2001:db8::7]:51820'], a.signing.secretKey, NOW);
  t.deepEqual(net.roster.memberByName('a', NOW)?.endpoints, ['198.51.100.7:51820', '[2001:db8::7]:51820']);
  // Newer replaces older; older is stale.
  const newer = publishEndpoints(net.roster, ['198.51.100.8:51820'], a.signing.secretKey, NOW + 5);
  t.deepEqual(net.roster.memberByName('a', NOW + 5)?.endpoints, ['198.51.100.8:51820']);
  t.is(net.roster.offer(newer, NOW + 5), 'stale');
});

test('a wireguard device is a member through its host, and goes when its host is kicked', (t) => {
  const net = makeNetwork();
  const host = makeNode('host', net.random);
  join(net, host, net.networkKey.secretKey);
  const phone = { publicKey: net.random(32) };
  const issued = issueCertificate(
    net.roster,
    { kind: 'wireguard', name: 'phone', wireguardKey: phone.publicKey, via: host.signing.publicKey },
    net.founder.signing.secretKey,
    { random: net.random, now: NOW },
  );
  t.is(issued.record.id, `cert:wg:${encodeKey(phone.publicKey)}`);
  t.true(net.roster.isAllowed(phone.publicKey, NOW));
  t.is(net.roster.memberByAddress(issued.certificate.ipv6, NOW)?.certificate.name, 'phone');
  kickMember(net.roster, 'host', net.founder.signing.secretKey, NOW + 1);
  t.false(net.roster.isAllowed(phone.publicKey, NOW + 1));
});

test('members learn the same roster whatever order gossip delivers the records in', (t) => {
  const net = makeNetwork(5);
  const nodes = Array.from({ length: 12 }, (_, i) => makeNode(`n${i}`, net.random));
  join(net, nodes[0]!, net.founder.signing.secretKey, true);
  for (const n of nodes.slice(1, 6)) join(net, n, nodes[0]!.signing.secretKey);
  for (const n of nodes.slice(6)) join(net, n, net.founder.signing.secretKey);
  for (const n of nodes) publishEndpoints(net.roster, ['192.0.2.1:1'], n.signing.secretKey, NOW + 1);
  kickMember(net.roster, 'n7', nodes[0]!.signing.secretKey, NOW + 2);
  const records = net.roster.records();
  const expected = net.roster.members(NOW + 3).map((m) => m.subject);
  const shuffle = seededRandom(99);
  for (let round = 0; round < 20; round++) {
    const order = records
      .map((r) => ({ r, k: shuffle(4).reduce((a, b) => a * 256 + b, 0) }))
      .sort((a, b) => a.k - b.k)
      .map((x) => x.r);
    const peer = freshPeer(net);
    // Gossip repeats: a record refused for a missing issuer is offered again on a later pass.
    for (let pass = 0; pass < 5; pass++) for (const r of order) peer.offer(r, NOW + 3);
    t.deepEqual(
      peer.members(NOW + 3).map((m) => m.subject),
      expected,
    );
  }
});

test('certificates decoded from the roster name their subjects as their record ids do', (t) => {
  const net = makeNetwork();
  for (const r of net.roster.records()) {
    const d = decodeCertificate(r.bytes);
    if (!d.ok) return t.fail(d.reason);
    t.is(r.id, `cert:${subjectOf(d.value)}`);
  }
});

test('prune drops expired certificates and their endpoints, and keeps revocations', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const b = makeNode('b', net.random);
  net.roster.offer(
    certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1', notAfter: NOW + HOUR }),
    NOW,
  );
  publishEndpoints(net.roster, ['192.0.2.1:1'], a.signing.secretKey, NOW);
  join(net, b, net.networkKey.secretKey);
  kickMember(net.roster, 'b', net.networkKey.secretKey, NOW);
  t.is(net.roster.prune(NOW + YEAR / 2), 2);
  t.deepEqual(
    net.roster
      .summaries()
      .map((s) => s.id.split(':')[0])
      .sort(),
    ['cert', 'revoke'],
  );
});
