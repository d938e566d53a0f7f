/** The roster on disk: what is saved comes back, and a damaged file says what is wrong. */
import test from 'ava';
import { encodeKey } from '../../core/base/keys.js';
import { kickMember, publishEndpoints } from '../../core/membership/issue.js';
import { isMembershipError, type MembershipError } from '../../core/membership/membershipError.js';
import { type RosterJSON, rosterFromJSON, rosterToJSON } from '../../core/membership/rosterFile.js';
import { certFor, makeNetwork, makeNode, NOW } from './fixtures.js';

function populated() {
  const net = makeNetwork();
  const a = makeNode('a', net.random);
  const b = makeNode('b', net.random);
  net.roster.offer(certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.1' }), NOW);
  net.roster.offer(certFor(net, b, net.networkKey.secretKey, { ipv4: '100.80.1.2' }), NOW);
  publishEndpoints(net.roster, ['192.0.2.1:51820'], a.signing.secretKey, NOW);
  kickMember(net.roster, 'b', net.networkKey.secretKey, NOW);
  return net;
}

function corruptError(json: unknown): MembershipError {
  try {
    rosterFromJSON(json, '/state/roster.json');
  } catch (e) {
    if (isMembershipError(e)) return e;
    throw e;
  }
  throw new Error('expected the load to fail');
}

test('a saved roster loads back with the same records and members', (t) => {
  const net = populated();
  const text = JSON.stringify(rosterToJSON(net.roster));
  const back = rosterFromJSON(JSON.parse(text));
  t.deepEqual(
    back.summaries().sort((x, y) => (x.id < y.id ? -1 : 1)),
    net.roster.summaries().sort((x, y) => (x.id < y.id ? -1 : 1)),
  );
  t.deepEqual(
    back.members(NOW).map((m) => [m.certificate.name, m.endpoints]),
    net.roster.members(NOW).map((m) => [m.certificate.name, m.endpoints]),
  );
  t.deepEqual(back.network, net.network);
  const revokedKey = Buffer.from(net.roster.revoked()[0]!.subjectKey).toString('base64');
  t.true(back.isRevoked(revokedKey, NOW));
  t.is(JSON.stringify(rosterToJSON(back)), text);
});

test('a roster file that is not an object, or of an unknown version, is refused by name', (t) => {
  for (const bad of [null, [], 'x', 42]) {
    const e = corruptError(bad);
    t.is(e.code, 'ESTORE_CORRUPT');
    t.true(e.message.startsWith('/state/roster.json: '));
  }
  const json = rosterToJSON(populated().roster);
  t.regex(corruptError({ ...json, version: 2 }).message, /unknown version 2/);
  t.regex(corruptError({ ...json, records: {} }).message, /"records" is not a list/);
});

test('a roster file with a damaged network is refused naming the field', (t) => {
  const json = rosterToJSON(populated().roster);
  t.regex(corruptError({ ...json, network: { ...json.network, key: 'abc' } }).message, /network key/);
  t.regex(
    corruptError({ ...json, network: { ...json.network, ipv4Subnet: '10.0.0.0/8' } }).message,
    /ipv4Subnet/,
  );
  t.regex(
    corruptError({ ...json, network: { ...json.network, ipv6Subnet: '2001:db8::/64' } }).message,
    /ipv6Subnet/,
  );
});

test('a roster file with one flipped byte in a record is refused naming that record', (t) => {
  const json: RosterJSON = rosterToJSON(populated().roster);
  for (let i = 0; i < json.records.length; i++) {
    const bytes = Buffer.from(json.records[i]!.bytes, 'base64');
    bytes[bytes.length - 5]! ^= 0x40;
    const records = json.records.map((r, j) => (j === i ? { ...r, bytes: bytes.toString('base64') } : r));
    const e = corruptError({ ...json, records });
    t.regex(e.message, new RegExp(`record ${i} \\(`), e.message);
    t.regex(e.message, /bad signature/);
  }
});

test('a roster file with a record listed twice, a mismatched id or junk bytes is refused', (t) => {
  const json = rosterToJSON(populated().roster);
  const first = json.records[0]!;
  t.regex(corruptError({ ...json, records: [...json.records, first] }).message, /listed twice/);
  t.regex(
    corruptError({ ...json, records: [{ ...first, version: first.version + 1 }] }).message,
    /id or version mismatch/,
  );
  t.regex(corruptError({ ...json, records: [{ ...first, bytes: 'AAAA' }] }).message, /record 0/);
  t.regex(corruptError({ ...json, records: [{ ...first, bytes: '!!' }] }).message, /not base64/);
  t.regex(corruptError({ ...json, records: [{ id: 1 }] }).message, /lacks id, version or bytes/);
});

test('records of another network in the file are refused', (t) => {
  const json = rosterToJSON(populated().roster);
  const other = rosterToJSON(makeNetwork(3).roster);
  t.regex(corruptError({ ...json, records: other.records }).message, /another network/);
});

test("a file from before admins' revocations had ids of their own loads them, and saves them under the new ids", (t) => {
  const net = makeNetwork();
  const admin = makeNode('admin', net.random);
  const a = makeNode('a', net.random);
  net.roster.offer(certFor(net, admin, net.networkKey.secretKey, { ipv4: '100.80.1.1', admin: true }), NOW);
  net.roster.offer(certFor(net, a, net.networkKey.secretKey, { ipv4: '100.80.1.2' }), NOW);
  const kick = kickMember(net.roster, 'a', admin.signing.secretKey, NOW + 1);
  const subject = encodeKey(a.signing.publicKey);
  t.not(kick.id, `revoke:${subject}`);
  const json = rosterToJSON(net.roster);
  const old = {
    ...json,
    records: json.records.map((r) => (r.id === kick.id ? { ...r, id: `revoke:${subject}` } : r)),
  };
  const back = rosterFromJSON(old);
  t.true(back.isRevoked(subject, NOW + 1));
  t.false(back.isAllowed(a.wireguard.publicKey, NOW + 1));
  t.deepEqual(rosterToJSON(back), json);
});
