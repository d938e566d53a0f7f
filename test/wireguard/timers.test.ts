/** whitepaper §6 timers, driven by a simulated clock: no real sleeps. */
import test from 'ava';
import { DEFAULT_TIMINGS, timingsWith } from '../../core/wireguard/constants.js';
import { PeerTimers } from '../../core/wireguard/timers.js';
import { MESSAGE, Sim, seededRandom } from './sim.js';

const data = new TextEncoder().encode('some inner packet');
const isKeepalive = (bytes: Uint8Array) => bytes[0] === MESSAGE.transport && bytes.length === 32;

function established(seed: number, extra: { persistentKeepaliveMs?: number } = {}) {
  const sim = new Sim(seed);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b, extra);
  sim.send(a, b, data);
  return { sim, a, b, peerOfA: a.device.peer(b.keys.publicKey)!, peerOfB: b.device.peer(a.keys.publicKey)! };
}

const keepalivesFrom = (sim: Sim, from: string) =>
  sim.wire.filter((d) => d.from === from && isKeepalive(d.bytes));

test('the initiator rekeys when it sends on a session 120 s old, the responder does not', (t) => {
  const { sim, a, b } = established(21);
  sim.advance(119_000);
  sim.send(a, b, data);
  sim.send(b, a, data);
  t.is(sim.sent('a', MESSAGE.initiation).length, 1);
  sim.advance(1_000);
  sim.send(b, a, data);
  t.is(sim.sent('b', MESSAGE.initiation).length, 0, 'only the initiator rekeys on age (whitepaper §6.2)');
  sim.send(a, b, data);
  t.is(sim.sent('a', MESSAGE.initiation).length, 2);
  t.is(a.device.peer(b.keys.publicKey)!.handshakes, 2);
});

test('the initiator rekeys when it receives on a session 165 s old', (t) => {
  const { sim, a, b } = established(22);
  sim.advance(164_000);
  sim.send(b, a, data);
  t.is(sim.sent('a', MESSAGE.initiation).length, 1);
  sim.advance(1_000);
  sim.send(b, a, data);
  t.is(sim.sent('a', MESSAGE.initiation).length, 2);
});

test('a session is rejected 180 s after its handshake, and its keys zeroed', (t) => {
  const { sim, a, b, peerOfA, peerOfB } = established(23);
  const session = peerOfA.sendingSession!;
  // Nothing but the first handshake gets through from now on.
  sim.pass = (d) => d.bytes[0] === MESSAGE.transport;
  sim.advance(179_000);
  sim.send(a, b, data);
  t.is(b.delivered.length, 2, 'still usable at 179 s');
  sim.advance(1_000);
  t.is(peerOfA.sendingSession, undefined);
  t.is(peerOfB.sendingSession, undefined);
  t.true(session.isZeroed);
  t.deepEqual(session.keyMaterial().sendKey, new Uint8Array(32));
  t.true(a.sessions.some((c) => c.kind === 'removed' && c.localIndex === session.localIndex));
  sim.send(a, b, data);
  t.is(b.delivered.length, 2, 'nothing is sent on an expired session');
  t.is(peerOfA.queuedPackets, 1, 'the packet waits for a new handshake instead');
});

test('one-way traffic is answered with a keepalive after 10 s', (t) => {
  const { sim, a } = established(24);
  const t0 = sim.now;
  sim.advance(9_999);
  t.is(keepalivesFrom(sim, 'b').length, 0);
  sim.advance(1);
  const keepalives = keepalivesFrom(sim, 'b');
  t.is(keepalives.length, 1);
  t.is(keepalives[0]!.at, t0 + 10_000);
  t.is(a.delivered.length, 0, 'a keepalive delivers no packet');
  sim.advance(60_000);
  t.is(keepalivesFrom(sim, 'b').length, 1, 'no keepalives without traffic to answer');
});

test('no keepalive when the receiver sent something of its own within 10 s', (t) => {
  const { sim, a, b } = established(25);
  sim.advance(5_000);
  sim.send(b, a, data);
  sim.advance(30_000);
  t.is(keepalivesFrom(sim, 'b').length, 0);
  // a, in turn, received b's data and answers it with a keepalive.
  t.is(keepalivesFrom(sim, 'a').length, 1);
});

test('data sent without any reply for 15 s starts a new handshake', (t) => {
  const { sim, a, b } = established(26);
  sim.advance(20_000);
  // b stops answering: everything from b is lost.
  sim.pass = (d) => d.from !== 'b';
  const sentAt = sim.now;
  sim.send(a, b, data);
  sim.advance(14_999);
  t.is(sim.sent('a', MESSAGE.initiation).length, 1);
  sim.advance(1);
  const inits = sim.sent('a', MESSAGE.initiation);
  t.is(inits.length, 2);
  t.is(inits[1]!.at, sentAt + 15_000);
});

test('persistent keepalive sends after every interval without traffic', (t) => {
  const sim = new Sim(27);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  a.device.addPeer({ publicKey: b.keys.publicKey, endpoint: b.endpoint, persistentKeepaliveMs: 25_000 }, 0);
  b.device.addPeer({ publicKey: a.keys.publicKey, endpoint: a.endpoint }, 0);
  // With no traffic at all, the first keepalive starts a handshake, and keepalives follow it.
  sim.advance(25_000);
  t.is(sim.sent('a', MESSAGE.initiation)[0]?.at, 25_000);
  sim.advance(100_000);
  const times = keepalivesFrom(sim, 'a').map((d) => d.at);
  t.deepEqual(times, [25_000, 50_000, 75_000, 100_000, 125_000]);
  t.is(keepalivesFrom(sim, 'b').length, 0, 'b has no persistent keepalive and only keepalives to answer');
  // Data from b at 130 s is answered by a passive keepalive at 140 s; the persistent one then
  // comes 25 s after that last packet, not on the old schedule.
  sim.advance(5_000);
  sim.send(b, a, data);
  sim.advance(40_000);
  t.deepEqual(
    keepalivesFrom(sim, 'a')
      .map((d) => d.at)
      .slice(5),
    // The session is 140 s old at 165 s, so that keepalive also starts a rekey, and the initiator
    // confirms the new session with one more keepalive.
    [140_000, 165_000, 165_000],
  );
  t.deepEqual(
    sim.sent('a', MESSAGE.initiation).map((d) => d.at),
    [25_000, 165_000],
  );
});

test('handshake retries every 5 s plus up to 333 ms of jitter, and gives up after 90 s', (t) => {
  const sim = new Sim(28);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.pass = () => false;
  sim.send(a, b, data);
  sim.advance(200_000);
  const at = sim.sent('a', MESSAGE.initiation).map((d) => d.at);
  t.is(at.length, 18, 'REKEY_ATTEMPT_TIME / REKEY_TIMEOUT attempts');
  const gaps = at.slice(1).map((x, i) => x - at[i]!);
  t.true(
    gaps.every((g) => g >= 5_000 && g <= 5_333),
    `gaps ${gaps}`,
  );
  t.true(new Set(gaps).size > 1, 'the jitter varies');
  // Each retry is a fresh initiation: new ephemeral key, so new bytes.
  t.is(new Set(sim.sent('a', MESSAGE.initiation).map((d) => Buffer.from(d.bytes).toString('hex'))).size, 18);
  const peer = a.device.peer(b.keys.publicKey)!;
  t.is(peer.queuedPackets, 0, 'queued packets are dropped on giving up');
  t.false(peer.handshakeInFlight);

  // New traffic starts a new attempt.
  sim.send(a, b, data);
  t.is(sim.sent('a', MESSAGE.initiation).length, 19);
});

test('a lost response is recovered by the retry', (t) => {
  const sim = new Sim(29);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  let lost = 0;
  sim.pass = (d) => !(d.bytes[0] === MESSAGE.response && lost++ === 0);
  sim.send(a, b, data);
  t.is(b.delivered.length, 0);
  sim.advance(5_400);
  t.is(b.delivered.length, 1);
  t.is(sim.sent('a', MESSAGE.initiation).length, 2);
});

test('all keys are erased 3 × REJECT_AFTER_TIME after the last handshake; the oldest session on rotation', (t) => {
  const { sim, a, b, peerOfA } = established(30);
  const first = peerOfA.sendingSession!;
  sim.advance(121_000);
  sim.send(a, b, data);
  const second = peerOfA.sendingSession!;
  t.not(second, first);
  t.false(first.isZeroed, 'the previous session stays to receive packets in flight');
  sim.advance(121_000);
  sim.send(a, b, data);
  t.true(first.isZeroed, 'replaced twice: erased');
  t.false(second.isZeroed);

  const third = peerOfA.sendingSession!;
  sim.advance(540_000);
  for (const s of [second, third]) {
    t.true(s.isZeroed);
    t.deepEqual(s.keyMaterial().receiveKey, new Uint8Array(32));
  }
  t.is(a.device.nextWakeAt(), undefined, 'nothing left to time');
});

test('timer machine: zeroKeys fires exactly 3 × REJECT_AFTER_TIME after the last session', (t) => {
  const timers = new PeerTimers(DEFAULT_TIMINGS, seededRandom(5));
  timers.on({ kind: 'sessionDerived' }, 1_000);
  timers.on({ kind: 'sessionDerived' }, 2_000);
  t.is(timers.nextDeadline(), 2_000 + 540_000);
  t.deepEqual(timers.due(541_999), []);
  t.deepEqual(timers.due(542_000), [{ kind: 'zeroKeys' }]);
  t.is(timers.nextDeadline(), undefined);
});

test('timer overrides shorten every duration for tests', (t) => {
  const timings = timingsWith({ rekeyTimeout: 100, rekeyTimeoutJitterMax: 0, rekeyAttemptTime: 300 });
  const timers = new PeerTimers(timings, seededRandom(6));
  timers.on({ kind: 'initiationSent', retry: false }, 0);
  t.deepEqual(timers.due(100), [{ kind: 'sendInitiation', retry: true }]);
  timers.on({ kind: 'initiationSent', retry: true }, 100);
  t.deepEqual(timers.due(200), [{ kind: 'sendInitiation', retry: true }]);
  timers.on({ kind: 'initiationSent', retry: true }, 200);
  t.deepEqual(timers.due(300), [{ kind: 'giveUp' }]);
});

test('traffic reported by an outside data path drives the same timers and key confirmation', (t) => {
  const sim = new Sim(31);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  // Only the handshake goes through the TS path; the transport confirming it is "native".
  sim.pass = (d) => d.bytes[0] !== MESSAGE.transport;
  sim.send(a, b, data);
  const peerOfB = b.device.peer(a.keys.publicKey)!;
  const next = b.sessions.find((c) => c.kind === 'installed')!;
  t.is(peerOfB.sendingSession, undefined);
  const out = { transmit: [], delivered: [], sessions: [], dropped: [], outbound: [] };
  peerOfB.noteTraffic(
    { direction: 'received', localIndex: next.session.localIndex, empty: false },
    sim.now,
    out,
  );
  t.like(out.sessions, [{ kind: 'sendingWith' }]);
  t.is(peerOfB.sendingSession, next.session);
  // ...and the data it reported is answered by a keepalive 10 s later.
  sim.pass = () => true;
  sim.advance(10_000);
  t.is(keepalivesFrom(sim, 'b').length, 1);
});
