/** What an admin signs: a new network, members, devices, kicks, and a node's own endpoints. */
import test from 'ava';
import { encodeKey } from '../../core/base/keys.js';
import { isAssignableIPv4 } from '../../core/membership/addressing.js';
import { keyPairFromSeed } from '../../core/membership/ed25519.js';
import {
  createNetwork,
  issueCertificate,
  kickMember,
  publishEndpoints,
} from '../../core/membership/issue.js';
import { isMembershipError, type MembershipErrorCode } from '../../core/membership/membershipError.js';
import { Roster } from '../../core/membership/roster.js';
import {
  HOUR,
  makeNetwork,
  makeNode,
  NOW,
  seededRandom,
  type TestNetwork,
  type TestNode,
  YEAR,
} from './fixtures.js';

function errorCode(fn: () => unknown): MembershipErrorCode {
  try {
    fn();
  } catch (e) {
    if (isMembershipError(e)) return e.code;
    throw e;
  }
  throw new Error('expected a MembershipError');
}

function request(node: TestNode, admin = false) {
  return {
    kind: 'member' as const,
    name: node.name,
    wireguardKey: node.wireguard.publicKey,
    signingKey: node.signing.publicKey,
    admin,
  };
}

const opts = (net: TestNetwork, now = NOW) => ({ random: net.random, now });

test('init makes a network key, the two subnets, and a founder admin at an address of the subnet', (t) => {
  const random = seededRandom(31);
  const me = makeNode('alpha', random);
  const created = createNetwork({
    name: 'alpha',
    member: { wireguardKey: me.wireguard.publicKey, signingKey: me.signing.publicKey },
    random,
    now: NOW,
  });
  t.is(created.network.ipv4Subnet.prefix, 16);
  t.regex(created.network.ipv6Subnet.address, /^fd/);
  t.deepEqual(created.network.key, created.networkKeyPair.publicKey);
  t.deepEqual(
    keyPairFromSeed(created.networkKeyPair.secretKey.subarray(0, 32)).publicKey,
    created.network.key,
  );
  const cert = created.founder.certificate;
  t.true(cert.admin);
  t.true(isAssignableIPv4(cert.ipv4, created.network.ipv4Subnet));
  t.true(cert.notAfter - NOW >= 10 * YEAR - 1);
  t.is(created.roster.memberByName('alpha', NOW)?.subject, encodeKey(me.signing.publicKey));
});

test('init refuses a bad --subnet with a usage error', (t) => {
  const random = seededRandom(32);
  const me = makeNode('alpha', random);
  const member = { wireguardKey: me.wireguard.publicKey, signingKey: me.signing.publicKey };
  t.is(
    errorCode(() => createNetwork({ name: 'alpha', subnet: '192.168.0.0/16', member, random, now: NOW })),
    'EUSAGE',
  );
  t.is(
    errorCode(() => createNetwork({ name: 'Alpha!', member, random, now: NOW })),
    'EUSAGE',
  );
});

test('an admin member issues a certificate every other node accepts, expiring no later than its own', (t) => {
  const net = makeNetwork();
  const admin = makeNode('admin', net.random);
  issueCertificate(
    net.roster,
    { ...request(admin, true), lifetimeMs: 2 * HOUR },
    net.networkKey.secretKey,
    opts(net),
  );
  const b = makeNode('b', net.random);
  const issued = issueCertificate(net.roster, request(b), admin.signing.secretKey, opts(net));
  t.deepEqual(issued.certificate.issuer, admin.signing.publicKey);
  t.is(issued.certificate.notAfter, NOW + 2 * HOUR);
  const peer = new Roster(net.network);
  for (let pass = 0; pass < 2; pass++) for (const r of net.roster.records()) peer.offer(r, NOW);
  t.true(peer.isAllowed(b.wireguard.publicKey, NOW));
});

test('a member that is not an admin cannot issue certificates', (t) => {
  const net = makeNetwork();
  const plain = makeNode('plain', net.random);
  issueCertificate(net.roster, request(plain), net.networkKey.secretKey, opts(net));
  const c = makeNode('c', net.random);
  t.is(
    errorCode(() => issueCertificate(net.roster, request(c), plain.signing.secretKey, opts(net))),
    'ENOT_ADMIN',
  );
  const stranger = makeNode('stranger', net.random);
  t.is(
    errorCode(() => issueCertificate(net.roster, request(c), stranger.signing.secretKey, opts(net))),
    'ENOT_ADMIN',
  );
});

test('a name or WireGuard key held by another member cannot be issued again', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  issueCertificate(net.roster, request(a), net.networkKey.secretKey, opts(net));
  const twin = makeNode('a', net.random);
  t.is(
    errorCode(() => issueCertificate(net.roster, request(twin), net.networkKey.secretKey, opts(net))),
    'ENAME_TAKEN',
  );
  const thief = { ...makeNode('thief', net.random), wireguard: a.wireguard };
  t.is(
    errorCode(() => issueCertificate(net.roster, request(thief), net.networkKey.secretKey, opts(net))),
    'EUSAGE',
  );
});

test('issuing never renews: a subject that holds a certificate gets no second one, and keeps its own', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const first = issueCertificate(net.roster, request(a), net.networkKey.secretKey, opts(net));
  // Same keys, another name, even admin: once this replaced a's certificate and kept its addresses.
  t.is(
    errorCode(() =>
      issueCertificate(
        net.roster,
        { ...request(a, true), name: 'a2' },
        net.networkKey.secretKey,
        opts(net, NOW + 1),
      ),
    ),
    'EUSAGE',
  );
  t.deepEqual(net.roster.get(first.record.id), first.record);
  t.false(net.roster.memberByName('a', NOW + 1)!.certificate.admin);
  t.is(net.roster.memberByName('a2', NOW + 1), undefined);
});

test('a kicked member cannot be issued a certificate again with the same keys', (t) => {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  issueCertificate(net.roster, request(a), net.networkKey.secretKey, opts(net));
  kickMember(net.roster, 'a', net.networkKey.secretKey, NOW);
  t.is(
    errorCode(() => issueCertificate(net.roster, request(a), net.networkKey.secretKey, opts(net))),
    'EUSAGE',
  );
  t.is(
    errorCode(() => kickMember(net.roster, 'nobody', net.networkKey.secretKey, NOW)),
    'EUSAGE',
  );
});

test('issuing fills a /24 network with 254 distinct addresses, then reports it full', (t) => {
  const net = makeNetwork(41, '100.99.1.0/24');
  const seen = new Set([net.roster.members(NOW)[0]!.certificate.ipv4]);
  for (let i = 1; i < 254; i++) {
    const node = makeNode(`m${i}`, net.random);
    const { certificate } = issueCertificate(net.roster, request(node), net.networkKey.secretKey, opts(net));
    t.false(seen.has(certificate.ipv4));
    seen.add(certificate.ipv4);
  }
  t.is(net.roster.members(NOW).length, 254);
  const last = makeNode('last', net.random);
  t.is(
    errorCode(() => issueCertificate(net.roster, request(last), net.networkKey.secretKey, opts(net))),
    'ESUBNET_FULL',
  );
});

test("a node's endpoint records are canonical and always newer than its last, even if the clock steps back", (t) => {
  const net = makeNetwork();
  const first = publishEndpoints(
    net.roster,
    ['192.0.2.1:51820', '[2001:DB8::1]:51820', '192.0.2.1:51820'],
    net.founder.signing.secretKey,
    NOW,
  );
  const again = publishEndpoints(net.roster, ['192.0.2.2:51820'], net.founder.signing.secretKey, NOW - HOUR);
  t.true(again.version > first.version);
  t.deepEqual(net.roster.memberByName('founder', NOW)?.endpoints, ['192.0.2.2:51820']);
  publishEndpoints(
    net.roster,
    ['[2001:DB8::1]:51820', '192.0.2.1:1'],
    net.founder.signing.secretKey,
    NOW + 1,
  );
  t.deepEqual(net.roster.memberByName('founder', NOW + 1)?.endpoints, ['[2001:db8::1]:51820', '192.0.2.1:1']);
  t.is(
    errorCode(() => publishEndpoints(net.roster, ['nope'], net.founder.signing.secretKey, NOW + 2)),
    'EUSAGE',
  );
});
