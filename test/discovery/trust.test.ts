/**
 * Only authenticated round trips move a path, and a relay forwards only between members. The node
 * hands Discovery only messages whose seal it opened; these tests check what Discovery itself refuses.
 */
import test from 'ava';
import { Discovery, type DiscoveryOutput, RelayService } from '../../core/discovery/index.js';

const id = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');
const A = id(1);
const B = id(2);
const P = id(3);
const STRANGER = id(9);
const B_ADDR = '192.0.2.20:51820';
const A_ADDR = '198.51.100.10:51820';

/** What setPeers sent first, per node: the probes a test answers. */
const firstOutput = new WeakMap<Discovery, DiscoveryOutput>();

function node(self: string, peers: [string, string][], relay = true) {
  const d = new Discovery({ self, now: 0, local: ['198.18.1.1:51820'], relay, random: () => 0.5 });
  const out = d.setPeers(
    peers.map(([pid, addr]) => ({ id: pid, name: pid.slice(0, 2), candidates: [addr], relay: true })),
    0,
  );
  firstOutput.set(d, out);
  return d;
}

function pingTo(out: DiscoveryOutput, endpoint: string): Uint8Array | undefined {
  const s = out.send.find((x) => x.endpoint === endpoint && x.message.kind === 'ping' && x.via === undefined);
  return s?.message.kind === 'ping' ? s.message.txid : undefined;
}

/** Answers `d`'s first ping to `endpoint` from there, 20 ms later. */
function answer(d: Discovery, peer: string, endpoint: string): DiscoveryOutput {
  const txid = pingTo(firstOutput.get(d)!, endpoint);
  if (!txid) throw new Error(`no ping to ${endpoint}`);
  return d.receive(peer, { kind: 'pong', txid }, { endpoint }, 20);
}

test('a pong with a txid we never sent moves nothing', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  d.receive(B, { kind: 'pong', txid: new Uint8Array(12) }, { endpoint: B_ADDR }, 10);
  t.is(d.path(B).path, 'none');
});

test('a pong with our txid that comes back from another address is not credited', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const txid = pingTo(firstOutput.get(d)!, B_ADDR)!;
  t.truthy(txid);
  d.receive(B, { kind: 'pong', txid }, { endpoint: '203.0.113.66:4444' }, 20);
  t.is(d.path(B).path, 'none');
  d.receive(B, { kind: 'pong', txid }, { endpoint: B_ADDR }, 30);
  t.deepEqual(d.path(B), { path: 'direct', endpoint: B_ADDR });
});

test('a replayed pong counts once', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const txid = pingTo(firstOutput.get(d)!, B_ADDR)!;
  d.receive(B, { kind: 'pong', txid }, { endpoint: B_ADDR }, 20);
  d.receive(B, { kind: 'pong', txid }, { endpoint: B_ADDR }, 900);
  const s = d.snapshot(B, 900)!;
  t.is(s.path, 'direct');
  t.is(s.rttMs, 20);
  t.is(s.evidenceAgeMs, 880);
});

test("a peer's ping from a new address makes us probe it but does not move the path", (t) => {
  const d = node(A, [[B, B_ADDR]]);
  answer(d, B, B_ADDR);
  const NEW = '192.0.2.99:6000';
  const out = d.receive(B, { kind: 'ping', txid: new Uint8Array(12).fill(7) }, { endpoint: NEW }, 500);
  t.deepEqual(d.path(B), { path: 'direct', endpoint: B_ADDR });
  const pong = out.send.find((s) => s.message.kind === 'pong');
  t.is(pong?.endpoint, NEW, 'the pong goes where the ping came from');
  t.true(pong?.message.kind === 'pong' && pong.message.observed === NEW);
  t.truthy(pingTo(out, NEW), 'and we ask the new address ourselves');
});

test('messages from a member we do not know are ignored', (t) => {
  const d = node(A, [[B, B_ADDR]]);
  const out = d.receive(STRANGER, { kind: 'ping', txid: new Uint8Array(12) }, { endpoint: B_ADDR }, 10);
  t.deepEqual(out.send, []);
  t.is(d.snapshot(STRANGER, 10), undefined);
});

test('a relay forwards between members it reaches directly, and to nobody else', (t) => {
  const p = node(P, [
    [A, A_ADDR],
    [B, B_ADDR],
  ]);
  answer(p, A, A_ADDR);
  answer(p, B, B_ADDR);
  const datagram = Uint8Array.of(1, 2, 3);
  const ok = p.receive(
    A,
    { kind: 'relay', to: Buffer.from(B, 'base64'), datagram },
    { endpoint: A_ADDR },
    100,
  );
  const fwd = ok.send.find((s) => s.message.kind === 'relayed');
  t.is(fwd?.to, B);
  t.is(fwd?.endpoint, B_ADDR);
  t.true(fwd?.message.kind === 'relayed' && Buffer.from(fwd.message.from).equals(Buffer.from(A, 'base64')));

  const refusals = [
    p.receive(A, { kind: 'relay', to: Buffer.from(STRANGER, 'base64'), datagram }, { endpoint: A_ADDR }, 110),
    p.receive(A, { kind: 'relay', to: Buffer.from(A, 'base64'), datagram }, { endpoint: A_ADDR }, 120),
    p.receive(A, { kind: 'relay', to: Buffer.from(P, 'base64'), datagram }, { endpoint: A_ADDR }, 130),
    // A relay envelope that itself came through a relay: one hop only.
    p.receive(A, { kind: 'relay', to: Buffer.from(B, 'base64'), datagram }, { via: B }, 140),
  ];
  const reasons = refusals.map((o) => o.events.find((e) => e.type === 'relayRefused'));
  t.deepEqual(
    reasons.map((r) => r?.type === 'relayRefused' && r.reason),
    ['notMember', 'toSender', 'toSelf', 'unreachable'],
  );
  for (const o of refusals) t.false(o.send.some((s) => s.message.kind === 'relayed'));
  t.deepEqual(p.relayCounters, { forwarded: 1, refused: 4 });
});

test('a member with --no-relay forwards nothing', (t) => {
  const p = node(
    P,
    [
      [A, A_ADDR],
      [B, B_ADDR],
    ],
    false,
  );
  answer(p, A, A_ADDR);
  answer(p, B, B_ADDR);
  const out = p.receive(
    A,
    { kind: 'relay', to: Buffer.from(B, 'base64'), datagram: Uint8Array.of(1) },
    { endpoint: A_ADDR },
    100,
  );
  t.false(out.send.some((s) => s.message.kind === 'relayed'));
  t.true(out.events.some((e) => e.type === 'relayRefused' && e.reason === 'disabled'));
});

test('a relay holds each sender to its rate, and the bucket refills with time', (t) => {
  const r = new RelayService({ self: P, enabled: true, packetsPerSecond: 100, burst: 10 });
  const member = () => true;
  const admitted = (now: number) => r.admit(A, B, B_ADDR, member, now).ok;
  const first = Array.from({ length: 20 }, () => admitted(0)).filter(Boolean).length;
  t.is(first, 10);
  t.false(admitted(1));
  t.true(admitted(20), 'two tokens back after 20 ms at 100/s');
  t.true(r.admit(B, A, A_ADDR, member, 20).ok, 'another sender has its own bucket');
});

test('a datagram relayed in the name of a stranger is not delivered', (t) => {
  const b = node(B, [[P, '203.0.113.1:51820']]);
  const out = b.receive(
    P,
    { kind: 'relayed', from: Buffer.from(STRANGER, 'base64'), datagram: Uint8Array.of(1) },
    { endpoint: '203.0.113.1:51820' },
    10,
  );
  t.deepEqual(out.delivered, []);
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
    { kind: 'introduce', peer: Buffer.from(B, 'base64'), candidates: [B_ADDR] },
    { endpoint: P_ADDR },
    100,
  );
  t.truthy(pingTo(out, B_ADDR));
  t.true(d.snapshot(B, 100)!.candidates.some((c) => c.endpoint === B_ADDR && c.source === 'introduced'));
});
