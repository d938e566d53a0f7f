/**
 * The node hears of endpoint records gossip accepted in batches (core/node/rosterGossip.ts): each
 * batch costs it a pass over the whole roster, and while a network forms every member publishes its
 * endpoints again and again. A certificate or a revocation is never held back: a new member's first
 * handshake must find it a peer, and a kicked member is cut off at once.
 */
import test from 'ava';
import { encodeRecords } from '../../core/gossip/gossipMessages.js';
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { RosterGossip } from '../../core/node/rosterGossip.js';
import { MapStore, VALID_MARK } from '../gossip/simulator.js';
import { namedPeer } from '../helpers/peerIds.js';

const record = (id: string): GossipRecord => ({ id, version: 1, bytes: Uint8Array.of(VALID_MARK, 1, 2, 3) });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function node() {
  const batches: string[][] = [];
  const gossip = new RosterGossip({
    self: namedPeer('self'),
    store: new MapStore(),
    send: () => {},
    reachable: () => [],
    accepted: (records) => batches.push(records.map((r) => r.id)),
  });
  const hear = (...ids: string[]) => {
    for (const message of encodeRecords(ids.map(record), 0))
      gossip.receive(namedPeer('peer'), message, undefined);
  };
  return { gossip, batches, hear };
}

test('endpoint records accepted from several messages in a row reach the node as one batch', async (t) => {
  const { gossip, batches, hear } = node();
  hear('endpoints:a');
  hear('endpoints:b', 'endpoints:c');
  hear('endpoints:a'); // not new: not accepted again
  t.deepEqual(batches, [], 'held for the batch');
  await sleep(150);
  t.deepEqual(batches, [['endpoints:a', 'endpoints:b', 'endpoints:c']]);
  gossip.stop();
});

test('a certificate or a revocation reaches the node at once, with whatever was waiting', async (t) => {
  const { gossip, batches, hear } = node();
  hear('endpoints:a');
  hear('cert:b');
  t.deepEqual(batches, [['endpoints:a', 'cert:b']]);
  hear('endpoints:b');
  hear('revoke:c');
  t.deepEqual(batches, [
    ['endpoints:a', 'cert:b'],
    ['endpoints:b', 'revoke:c'],
  ]);
  await sleep(150);
  t.is(batches.length, 2, 'nothing left over for another batch');
  gossip.stop();
});

test('a node stopped before its batch is due hears nothing more', async (t) => {
  const { gossip, batches, hear } = node();
  hear('endpoints:a');
  gossip.stop();
  await sleep(150);
  t.deepEqual(batches, []);
});

test("this node's own records, and endpoint records the node calls urgent, are not held back", async (t) => {
  const batches: string[][] = [];
  const gossip = new RosterGossip({
    self: namedPeer('self'),
    store: new MapStore(),
    send: () => {},
    reachable: () => [],
    accepted: (records) => batches.push(records.map((r) => r.id)),
    urgent: (r) => r.id === 'endpoints:restarted',
  });
  gossip.publish(record('endpoints:self'));
  t.deepEqual(batches, [['endpoints:self']]);
  for (const message of encodeRecords([record('endpoints:restarted')], 0))
    gossip.receive(namedPeer('peer'), message, undefined);
  t.deepEqual(batches, [['endpoints:self'], ['endpoints:restarted']]);
  gossip.stop();
});
