/** Our candidates, the NAT inference, and the order a peer's candidates are tried in. */

import test from 'ava';
import { CandidateSet, rankPeerCandidates } from '../../core/discovery/candidateSet.js';
import { Discovery } from '../../core/discovery/discovery.js';
import { addressScope, isCandidate } from '../../core/discovery/endpointClass.js';
import { NatInference } from '../../core/discovery/natBehaviour.js';
import { ep, eps, epText, epTexts } from '../helpers/endpoints.js';
import { namedPeer } from '../helpers/peerIds.js';

const LAN = '198.18.1.10:51820';

test('local and announced candidates are deduped, announced first, LAN last', (t) => {
  const set = new CandidateSet(
    eps([LAN, '203.0.113.5:51820', LAN]),
    eps(['192.0.2.99:51820', '192.0.2.99:51820']),
  );
  t.deepEqual(epTexts(set.list(0)), ['192.0.2.99:51820', '203.0.113.5:51820', LAN]);
});

test('a new reflexive address is news once; the same one again is not', (t) => {
  const set = new CandidateSet(eps([LAN]));
  t.true(set.noteObserved(ep('203.0.113.1:51820'), ep('192.0.2.10:40000'), 100));
  t.false(set.noteObserved(ep('203.0.113.1:51820'), ep('192.0.2.10:40000'), 200));
  t.deepEqual(epTexts(set.list(200)), ['192.0.2.10:40000', LAN]);
  t.deepEqual([...set.reflexiveIps(200)], ['192.0.2.10']);
});

test('what a peer across our LAN sees is not a reflexive address', (t) => {
  const set = new CandidateSet(eps([LAN]));
  t.false(set.noteObserved(ep('198.18.1.11:51820'), ep(LAN), 100));
  t.false(set.noteObserved(ep('198.18.1.11:51820'), ep('198.18.1.99:1234'), 100));
  t.deepEqual(epTexts(set.list(100)), [LAN]);
});

test('reflexive addresses expire when no peer confirms them, and go when our interfaces change', (t) => {
  const set = new CandidateSet(eps([LAN]));
  set.noteObserved(ep('203.0.113.1:51820'), ep('192.0.2.10:40000'), 0);
  t.deepEqual(epTexts(set.list(121_000)), [LAN]);
  set.noteObserved(ep('203.0.113.1:51820'), ep('192.0.2.10:40000'), 200_000);
  t.true(set.setLocal(eps(['198.18.1.20:51820']), 200_001));
  t.deepEqual(epTexts(set.list(200_001)), ['198.18.1.20:51820']);
});

test('two peers seeing us at one ip:port: endpoint-independent mapping', (t) => {
  const nat = new NatInference();
  nat.note('203.0.113.1', ep('192.0.2.10:40000'), eps([LAN]), 0);
  t.is(nat.behaviour(0), 'unknown');
  nat.note('203.0.113.2', ep('192.0.2.10:40000'), eps([LAN]), 0);
  t.is(nat.behaviour(0), 'endpoint-independent');
});

test('two peers seeing us at different ports: endpoint-dependent mapping, announced with one reflexive only', (t) => {
  const set = new CandidateSet(eps([LAN]));
  set.noteObserved(ep('203.0.113.1:51820'), ep('192.0.2.10:1111'), 0);
  set.noteObserved(ep('203.0.113.2:51820'), ep('192.0.2.10:2222'), 10);
  t.is(set.natBehaviour(10), 'endpoint-dependent');
  t.deepEqual(epTexts(set.list(10)), ['192.0.2.10:2222', LAN]);
});

test('a peer seeing us at our own address: no NAT', (t) => {
  const set = new CandidateSet(eps(['203.0.113.5:51820']));
  set.noteObserved(ep('203.0.113.1:51820'), ep('203.0.113.5:51820'), 0);
  t.is(set.natBehaviour(0), 'none');
});

test("behind the peer's NAT its LAN addresses come first; elsewhere its public ones", (t) => {
  const peer = ['192.0.2.10:40001', '198.18.1.11:51820'];
  const same = rankPeerCandidates(eps(peer), new Set(['192.0.2.10']));
  t.true(same.sameNat);
  t.deepEqual(
    same.ordered.map((c) => epText(c.endpoint)),
    ['198.18.1.11:51820', '192.0.2.10:40001'],
  );
  const other = rankPeerCandidates(eps(peer), new Set(['198.51.100.20']));
  t.false(other.sameNat);
  t.deepEqual(
    other.ordered.map((c) => [epText(c.endpoint), c.kind]),
    [
      ['192.0.2.10:40001', 'public'],
      ['198.18.1.11:51820', 'lan'],
    ],
  );
});

test("a peer's port-mapped endpoint is its first public candidate, of kind mapped", (t) => {
  const peer = ['192.0.2.10:40001', '198.18.1.11:51820', '192.0.2.1:51820'];
  const ranked = rankPeerCandidates(eps(peer), new Set(['198.51.100.20']), eps(['192.0.2.1:51820']));
  t.deepEqual(
    ranked.ordered.map((c) => [epText(c.endpoint), c.kind]),
    [
      ['192.0.2.1:51820', 'mapped'],
      ['192.0.2.10:40001', 'public'],
      ['198.18.1.11:51820', 'lan'],
    ],
  );
  // Behind the same NAT its LAN address still wins: the mapping is for the world outside.
  const same = rankPeerCandidates(eps(peer), new Set(['192.0.2.10']), eps(['192.0.2.1:51820']));
  t.is(epText(same.ordered[0]!.endpoint), '198.18.1.11:51820');
});

test('address scopes: private, shared, benchmarking and ULA ranges are LAN', (t) => {
  for (const ip of [
    '10.1.2.3',
    '172.16.0.1',
    '192.168.1.1',
    '100.64.0.1',
    '198.18.0.1',
    '198.19.255.1',
    'fd00::1',
  ])
    t.is(addressScope(ip), 'lan', ip);
  for (const ip of ['192.0.2.1', '203.0.113.1', '172.32.0.1', '2001:db8::1'])
    t.is(addressScope(ip), 'public', ip);
  t.true(isCandidate('[2001:db8::1]:51820'));
  t.false(isCandidate('[2001:DB8::1]:51820'));
  t.false(isCandidate('[2001:db8:0::1]:51820'));
});

test('a STUN server seeing us at a new address makes it a candidate, announced once; a LAN "server" is no evidence', (t) => {
  const d = new Discovery({
    self: namedPeer('self'),
    now: 0,
    local: eps(['198.18.1.10:51820']),
    random: () => 0.5,
  });
  const changed = (out: ReturnType<Discovery['noteReflexive']>) =>
    out.events.find((e) => e.type === 'candidatesChanged');
  const first = changed(d.noteReflexive(ep('203.0.113.50:3478'), ep('203.0.113.1:40001'), 100));
  t.truthy(first);
  t.deepEqual(epTexts(d.candidates(100)), ['203.0.113.1:40001', '198.18.1.10:51820']);
  t.is(
    changed(d.noteReflexive(ep('203.0.113.50:3478'), ep('203.0.113.1:40001'), 200)),
    undefined,
    'nothing new',
  );
  t.is(changed(d.noteReflexive(ep('198.18.1.1:3478'), ep('198.18.1.10:51820'), 300)), undefined);
  // The NAT gave us another port: the new one is announced first.
  t.truthy(changed(d.noteReflexive(ep('203.0.113.50:3478'), ep('203.0.113.1:40002'), 400)));
  t.is(epText(d.candidates(400)[0]), '203.0.113.1:40002');
});
