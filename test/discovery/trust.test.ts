/**
 * Only authenticated round trips move a path. The node hands Discovery only messages whose seal it
 * opened; these tests check what Discovery itself refuses. (Relaying is the data path's alone:
 * test/native/relay.test.ts shows it forwards only between members, at a bounded rate.)
 */

import test from 'ava';
import { type PeerId, peerId } from '../../core/base/keys.js';
import { Discovery, type DiscoveryOutput } from '../../core/discovery/index.js';
import { ep, eps, epText } from '../helpers/endpoints.js';

const id = (n: number) => peerId(new Uint8Array(32).fill(n));
const A = id(1);
const B = id(2);
const P = id(3);
const STRANGER = id(9);
const B_ADDR = '192.0.2.20:51820';

/** What setPeers sent first, per node: the probes a test answers. */
const firstOutput = new WeakMap<Discovery, DiscoveryOutput>();

function node(self: PeerId, peers: [PeerId, string][]) {
  const d = new Discovery({ self, now: 0, local: eps(['198.18.1.1:51820']), random: () => 0.5 });
  const out = d.setPeers(
    peers.map(([pid, addr]) => ({ id: pid, name: pid.slice(0, 2), candidates: eps([addr]), relay: true })),
    0,
  );
  firstOutput.set(d, out);
  return d;
}

function pingTo(out: DiscoveryOutput, endpoint: string): Uint8Array | undefined {
  const s = out.send.find(
    (x) => epText(x.endpoint) === endpoint && x.message.kind === 'ping' && x.via === undefined,
  );
  return s?.message.kind === 'ping' ? s.message.txid : undefined;
}

/** Answers `d`'s first ping to `endpoint` from there, 20 ms later. */
function answer(d: Discovery, peer: PeerId, endpoint: string): DiscoveryOutput {
  const txid = pingTo(firstOutput.get(d)!, endpoint);
  if (!txid) throw new Error(`no ping to ${endpoint}`);
  return d.receive(peer, { kind: 'pong', txid }, { endpoint: ep(endpoint) }, 20);
}

test('a pong with a txid we never sent moves nothing', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  d.receive(B, { kind: 'pong', txid: new Uint8Array(12) }, { endpoint: ep(B_ADDR) }, 10);
  t.is(d.path(B).path, 'none');
});

test('a pong with our txid that comes back from another address is not credited', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const txid = pingTo(firstOutput.get(d)!, B_ADDR)!;
  t.truthy(txid);
  d.receive(B, { kind: 'pong', txid }, { endpoint: ep('203.0.113.66:4444') }, 20);
  t.is(d.path(B).path, 'none');
  d.receive(B, { kind: 'pong', txid }, { endpoint: ep(B_ADDR) }, 30);
  t.deepEqual(d.path(B), { path: 'direct', endpoint: ep(B_ADDR) });
});

test('a replayed pong counts once', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const txid = pingTo(firstOutput.get(d)!, B_ADDR)!;
  d.receive(B, { kind: 'pong', txid }, { endpoint: ep(B_ADDR) }, 20);
  d.receive(B, { kind: 'pong', txid }, { endpoint: ep(B_ADDR) }, 900);
  const s = d.snapshot(B, 900)!;
  t.is(s.path, 'direct');
  t.is(s.rttMs, 20);
  t.is(s.evidenceAgeMs, 880);
});

test("a peer's ping from a new address makes us probe it but does not move the path", (t) => {
  const d = node(A, [[B, B_ADDR]]);
  answer(d, B, B_ADDR);
  const NEW = '192.0.2.99:6000';
  const out = d.receive(B, { kind: 'ping', txid: new Uint8Array(12).fill(7) }, { endpoint: ep(NEW) }, 500);
  t.deepEqual(d.path(B), { path: 'direct', endpoint: ep(B_ADDR) });
  const pong = out.send.find((s) => s.message.kind === 'pong');
  t.is(epText(pong?.endpoint), NEW, 'the pong goes where the ping came from');
  t.true(pong?.message.kind === 'pong' && epText(pong.message.observed) === NEW);
  t.truthy(pingTo(out, NEW), 'and we ask the new address ourselves');
});

test('messages from a member we do not know are ignored', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const out = d.receive(STRANGER, { kind: 'ping', txid: new Uint8Array(12) }, { endpoint: ep(B_ADDR) }, 10);
  t.deepEqual(out.send, []);
  t.is(d.snapshot(STRANGER, 10), undefined);
});

test('a ping through a relay is answered through it, and only a pong through it credits that relay route', (t) => {
  const a = node(A, [
    [B, B_ADDR],
    [P, '203.0.113.1:51820'],
  ]);
  answer(a, P, '203.0.113.1:51820');
  // P answered directly, so P is a relay A offers B: its route is probed through P.
  const out = a.tick(100);
  const probe = out.send.find((s) => s.to === B && s.via === P && s.message.kind === 'ping');
  t.truthy(probe, JSON.stringify(out.send));
  const txid = probe?.message.kind === 'ping' ? probe.message.txid : new Uint8Array(12);
  // The same txid answered directly from B's address is not the relay route's answer.
  a.receive(B, { kind: 'pong', txid }, { endpoint: ep(B_ADDR) }, 110);
  t.is(a.path(B).path, 'none');
  a.receive(B, { kind: 'pong', txid }, { via: P }, 120);
  t.deepEqual(a.path(B), { path: 'relay', via: P });

  const pinged = a.receive(B, { kind: 'ping', txid: new Uint8Array(12).fill(7) }, { via: P }, 130);
  const pong = pinged.send.find((s) => s.message.kind === 'pong');
  t.like(pong, { to: B, via: P });
  t.true(
    pong?.message.kind === 'pong' && pong.message.observed === undefined,
    'a relay hides the UDP source',
  );
});

test('an introduction we asked for adds candidates and starts probing them at once', (t) => {
  const P_ADDR = '203.0.113.1:51820';
  const d = node(A, [
    [B, '198.18.9.9:51820'],
    [P, P_ADDR],
  ]);
  // P answers, so it is the member we reach directly and ask about B.
  const asked = answer(d, P, P_ADDR);
  const request = asked.send.find((s) => s.message.kind === 'introduceRequest');
  t.is(request?.to, P);
  t.true(
    request?.message.kind === 'introduceRequest' &&
      Buffer.from(request.message.peer).equals(Buffer.from(B, 'base64')),
  );
  const out = d.receive(
    P,
    { kind: 'introduce', peer: Buffer.from(B, 'base64'), candidates: eps([B_ADDR]) },
    { endpoint: ep(P_ADDR) },
    100,
  );
  t.truthy(pingTo(out, B_ADDR));
  t.true(d.snapshot(B, 100)!.candidates.some((c) => c.endpoint === B_ADDR && c.source === 'introduced'));
});
