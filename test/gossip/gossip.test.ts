/** Anti-entropy and rumor mongering between a few nodes, and their bounds against junk and floods. */
import test from 'ava';
import fc from 'fast-check';
import type { PeerId } from '../../core/base/keys.js';
import { MAX_GOSSIP_MESSAGE, MAX_REPLIES_PER_PEER_PER_INTERVAL } from '../../core/gossip/constants.js';
import { Gossip, type GossipSend } from '../../core/gossip/gossip.js';
import {
  decodeGossipMessage,
  encodeDigest,
  encodeRecords,
  encodeSummaries,
} from '../../core/gossip/gossipMessages.js';
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { namedPeer, peerName } from '../helpers/peerIds.js';
import { seededUniform } from '../helpers/seeded.js';
import { certificate, MapStore } from './simulator.js';

const NOW = 1_750_000_000_000;

function cluster(names: string[], seed = 1) {
  const random = seededUniform(seed);
  const nodes = new Map(
    names.map((name) => {
      const store = new MapStore();
      return [name, { store, gossip: new Gossip({ self: namedPeer(name), store, random }) }] as const;
    }),
  );
  /** Delivers messages (and the answers they cause) until none are left; returns how many moved. */
  const deliver = (from: PeerId, sends: GossipSend[], now: number): number => {
    let moved = 0;
    const queue = sends.map((s) => ({ from, ...s }));
    while (queue.length > 0 && moved < 10_000) {
      const m = queue.shift()!;
      moved++;
      const out = nodes.get(peerName(m.to))!.gossip.receive(m.from, m.message, now);
      queue.push(...out.send.map((s) => ({ from: m.to, ...s })));
    }
    return moved;
  };
  const round = (now: number) => {
    for (const [name, node] of nodes) {
      deliver(namedPeer(name), node.gossip.tick(now, names.map(namedPeer)).send, now);
    }
  };
  return { nodes, deliver, round, random };
}

const ids = (store: MapStore) => [...store.records.keys()].sort();

test('two nodes with different records both hold all of them after one round', (t) => {
  const { nodes, round, random } = cluster(['a', 'b']);
  for (let i = 0; i < 40; i++)
    nodes.get(i % 2 ? 'a' : 'b')!.store.offer(certificate(`m${i}`, 300, random), NOW);
  round(NOW);
  t.is(nodes.get('a')!.store.records.size, 40);
  t.deepEqual(ids(nodes.get('a')!.store), ids(nodes.get('b')!.store));
});

test('a newer version of a record replaces the older one on the peer', (t) => {
  const { nodes, round, random } = cluster(['a', 'b']);
  nodes.get('a')!.store.offer(certificate('x', 100, random, 1), NOW);
  nodes.get('b')!.store.offer(certificate('x', 100, random, 1), NOW);
  nodes.get('b')!.store.offer(certificate('x', 100, random, 2), NOW);
  round(NOW);
  t.is(nodes.get('a')!.store.get('cert:x')!.version, 2);
});

test('a new member holding nothing else gets 300 records from one peer within a few rounds', (t) => {
  const { nodes, round, random } = cluster(['old', 'new']);
  for (let i = 0; i < 300; i++) nodes.get('old')!.store.offer(certificate(`m${i}`, 350, random), NOW);
  let rounds = 0;
  while (nodes.get('new')!.store.records.size < 300 && rounds < 20) round(NOW + ++rounds * 1_500);
  t.is(nodes.get('new')!.store.records.size, 300);
  t.true(rounds <= 4, `took ${rounds} rounds`);
});

test('a published record is pushed at once to three peers as a rumor', (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f'];
  const { nodes, random } = cluster(names);
  const a = nodes.get('a')!.gossip;
  a.tick(NOW, names.map(namedPeer));
  const { send, result } = a.publish(certificate('new', 200, random), NOW);
  t.is(result, 'accepted');
  t.is(new Set(send.map((s) => s.to)).size, 3);
  t.false(send.some((s) => s.to === namedPeer('a')));
  const decoded = decodeGossipMessage(send[0]!.message);
  t.like(decoded, { ok: true, message: { type: 'records', hops: 4 } });
});

test('a rumor is passed on with one hop less, never back to its sender, and stops at the last hop', (t) => {
  const names = ['a', 'b', 'c', 'd', 'e'];
  const { nodes, random } = cluster(names);
  const b = nodes.get('b')!.gossip;
  b.tick(NOW, names.map(namedPeer));
  const record = certificate('news', 100, random);
  const out = b.receive(namedPeer('a'), encodeRecords([record], 2)[0]!, NOW);
  t.is(out.accepted.length, 1);
  t.is(out.send.length, 3);
  t.false(out.send.some((s) => s.to === namedPeer('a')));
  t.true(out.send.every((s) => s.message[1] === 1));
  const last = nodes.get('c')!.gossip.receive(namedPeer('b'), out.send[0]!.message, NOW);
  t.is(last.accepted.length, 1);
  t.is(last.send.length, 0, 'hops exhausted: left to anti-entropy');
});

test('records pulled by anti-entropy are not spread as rumors', (t) => {
  const names = ['a', 'b', 'c'];
  const { nodes, random } = cluster(names);
  const b = nodes.get('b')!.gossip;
  b.tick(NOW, names.map(namedPeer));
  const out = b.receive(namedPeer('a'), encodeRecords([certificate('old', 100, random)], 0)[0]!, NOW);
  t.is(out.accepted.length, 1);
  t.is(out.send.length, 0);
});

test('invalid records are counted, not kept and not passed on', (t) => {
  const names = ['a', 'b', 'c'];
  const { nodes } = cluster(names);
  const b = nodes.get('b')!;
  b.gossip.tick(NOW, names.map(namedPeer));
  const forged: GossipRecord = { id: 'cert:evil', version: 1, bytes: new Uint8Array([1, 2, 3]) };
  const out = b.gossip.receive(namedPeer('a'), encodeRecords([forged], 4)[0]!, NOW);
  t.is(out.invalid, 1);
  t.is(out.accepted.length, 0);
  t.is(out.send.length, 0);
  t.is(b.store.records.size, 0);
});

test('junk never throws, is dropped with a reason and leaves the store unchanged', (t) => {
  const { nodes, random } = cluster(['a', 'b']);
  const b = nodes.get('b')!;
  b.store.offer(certificate('x', 100, random), NOW);
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1300 }), (junk) => {
        const out = b.gossip.receive(namedPeer('a'), junk, NOW);
        return out.accepted.length === 0 && (out.dropped !== undefined || out.send.length <= 16);
      }),
    ),
  );
  t.deepEqual(ids(b.store), ['cert:x']);
  t.like(b.gossip.receive(namedPeer('a'), new Uint8Array([9, 9]), NOW), { dropped: 'unknownType' });
  t.like(b.gossip.receive(namedPeer('a'), new Uint8Array(0), NOW), { dropped: 'empty' });
});

test('a peer flooding digests gets a bounded number of answers per interval', (t) => {
  const { nodes, random } = cluster(['a', 'b']);
  const b = nodes.get('b')!;
  for (let i = 0; i < 200; i++) b.store.offer(certificate(`m${i}`, 900, random), NOW);
  const emptyDigest = encodeDigest(Array.from({ length: 32 }, () => ({ hi: 0, lo: 0, count: 0 })));
  let answers = 0;
  for (let i = 0; i < 1_000; i++)
    answers += b.gossip.receive(namedPeer('a'), emptyDigest, NOW + i / 10).send.length;
  t.is(answers, MAX_REPLIES_PER_PEER_PER_INTERVAL);
  t.true(
    b.gossip.receive(namedPeer('a'), emptyDigest, NOW + 1_000).send.length > 0,
    'the next interval answers again',
  );
});

test('every encoded message fits one datagram, whatever the records', (t) => {
  const record = fc.record({
    id: fc.string({ unit: fc.constantFrom(...'abc:0123456789'), minLength: 1, maxLength: 64 }),
    version: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 1000 }),
  });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.array(record, { maxLength: 30 }), fc.nat(8), (records, hops) => {
        const messages = encodeRecords(records, hops);
        const back = messages.flatMap((m) => {
          const d = decodeGossipMessage(m);
          return d.ok && d.message.type === 'records' ? d.message.records : [];
        });
        return messages.every((m) => m.length <= MAX_GOSSIP_MESSAGE) && back.length === records.length;
      }),
    ),
  );
  const entries = Array.from({ length: 500 }, (_, i) => ({ idHash: new Uint8Array(16).fill(i), version: i }));
  const summaries = encodeSummaries([{ bucket: 3, complete: true, entries }]);
  t.true(summaries.length > 1 && summaries.every((m) => m.length <= MAX_GOSSIP_MESSAGE));
  t.true(
    summaries.every((m) => {
      const d = decodeGossipMessage(m);
      return d.ok && d.message.type === 'summaries' && d.message.groups.every((g) => !g.complete);
    }),
    'a bucket split across messages is marked incomplete',
  );
});

test('a tick before its time sends nothing; rounds come every 0.5 to 1.5 intervals', (t) => {
  const { nodes } = cluster(['a', 'b']);
  const a = nodes.get('a')!.gossip;
  const first = a.tick(NOW, ['a', 'b'].map(namedPeer));
  t.is(first.send.length, 1);
  t.false(
    first.send.some((s) => s.to === namedPeer('a')),
    'never gossips with itself',
  );
  t.true(first.nextWakeAt >= NOW + 500 && first.nextWakeAt <= NOW + 1_500);
  t.deepEqual(a.tick(first.nextWakeAt - 1, ['a', 'b'].map(namedPeer)).send, []);
  t.is(a.tick(first.nextWakeAt, ['a', 'b'].map(namedPeer)).send.length, 1);
});
