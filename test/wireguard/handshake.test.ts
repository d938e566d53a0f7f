import test from 'ava';
import { MESSAGE, Sim } from './sim.js';

const ping = (n: number) => new TextEncoder().encode(`inner packet ${n}`);

test('two peers complete a handshake and exchange packets both ways', (t) => {
  const sim = new Sim(7);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);

  sim.send(a, b, ping(1));
  t.is(sim.sent('a', MESSAGE.initiation).length, 1);
  t.is(sim.sent('b', MESSAGE.response).length, 1);
  // The queued packet crossed as soon as the handshake completed; padding is to 16 bytes.
  t.is(b.delivered.length, 1);
  t.deepEqual(b.delivered[0]!.subarray(0, ping(1).length), ping(1));
  t.is(b.delivered[0]!.length % 16, 0);

  sim.send(b, a, ping(2));
  t.deepEqual(a.delivered[0]!.subarray(0, ping(2).length), ping(2));
  t.is(a.device.peer(b.keys.publicKey)!.handshakes, 1);
  t.is(b.device.peer(a.keys.publicKey)!.handshakes, 1);
});

test('both sides derive matching transport keys with mirrored indices', (t) => {
  const sim = new Sim(8);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.send(a, b, ping(1));
  const sa = a.device.peer(b.keys.publicKey)!.sendingSession!;
  const sb = b.device.peer(a.keys.publicKey)!.sendingSession!;
  t.true(sa.isInitiator);
  t.false(sb.isInitiator);
  t.is(sa.remoteIndex, sb.localIndex);
  t.is(sb.remoteIndex, sa.localIndex);
  t.deepEqual(sa.keyMaterial().sendKey, sb.keyMaterial().receiveKey);
  t.deepEqual(sa.keyMaterial().receiveKey, sb.keyMaterial().sendKey);
  t.notDeepEqual(sa.keyMaterial().sendKey, sa.keyMaterial().receiveKey);
});

test('the responder holds data until the initiator confirms the session', (t) => {
  const sim = new Sim(9);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  // Lose every transport message from a, so b never sees key confirmation.
  sim.pass = (d) => !(d.from === 'a' && d.bytes[0] === MESSAGE.transport);
  sim.send(a, b, ping(1));
  const peerA = b.device.peer(a.keys.publicKey)!;
  t.is(peerA.sendingSession, undefined, 'responder must not send on an unconfirmed session');
  sim.pass = () => true;
  sim.send(a, b, ping(2));
  t.truthy(peerA.sendingSession);
});

test('matching preshared keys complete the handshake; mismatched ones do not', (t) => {
  const psk = new Uint8Array(32).fill(7);
  const sim = new Sim(10);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b, { presharedKey: psk });
  sim.send(a, b, ping(1));
  t.is(b.delivered.length, 1);

  const sim2 = new Sim(11);
  const c = sim2.addNode('c');
  const d = sim2.addNode('d');
  c.device.addPeer({ publicKey: d.keys.publicKey, endpoint: d.endpoint, presharedKey: psk }, 0);
  d.device.addPeer({ publicKey: c.keys.publicKey, endpoint: c.endpoint }, 0);
  sim2.send(c, d, ping(1));
  t.is(d.delivered.length, 0);
  t.true(c.dropped.includes('decryptFailed'), 'the initiator rejects a response made without its psk');
});

test('an initiation from an unknown static key is dropped without a response', (t) => {
  const sim = new Sim(12);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  a.device.addPeer({ publicKey: b.keys.publicKey, endpoint: b.endpoint }, 0);
  sim.send(a, b, ping(1));
  t.deepEqual(b.dropped, ['unknownPeer']);
  t.is(sim.sent('b', MESSAGE.response).length, 0);
});

test('a replayed initiation, same or older timestamp, is rejected and leaves sessions alone', (t) => {
  const sim = new Sim(13);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.send(a, b, ping(1));
  const first = sim.sent('a', MESSAGE.initiation)[0]!.bytes;
  const peerA = b.device.peer(a.keys.publicKey)!;
  const before = peerA.sendingSession;

  // Same timestamp: the very same bytes again, as an on-path attacker would replay them.
  let out = b.device.receive(first, a.endpoint, sim.now + 1);
  t.deepEqual(out.dropped, ['replayedTimestamp']);
  t.is(out.transmit.length, 0);
  t.is(peerA.sendingSession, before);

  // A later rekey is accepted; after it the first (now older) initiation is still rejected.
  sim.advance(121_000);
  sim.send(a, b, ping(2));
  t.is(sim.sent('a', MESSAGE.initiation).length, 2);
  t.is(peerA.handshakes, 2);
  const current = peerA.sendingSession;
  out = b.device.receive(first, a.endpoint, sim.now);
  t.deepEqual(out.dropped, ['replayedTimestamp']);
  t.is(peerA.sendingSession, current);
});

test('crossing initiations: both sessions complete and packets pass both ways at once, with no timer', (t) => {
  const sim = new Sim(12);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  // Both start a handshake before either initiation arrives (a member restarts while its peer
  // resends a handshake on a new path): each side then completes one as initiator and one as
  // responder. Neither may throw away the session the other is about to send on.
  sim.apply(a, a.device.send(b.keys.publicKey, ping(1), sim.now));
  sim.apply(b, b.device.send(a.keys.publicKey, ping(2), sim.now));
  sim.flush();
  t.is(sim.sent('a', MESSAGE.initiation).length, 1);
  t.is(sim.sent('b', MESSAGE.initiation).length, 1);
  for (let i = 3; i < 9; i++) {
    sim.send(a, b, ping(i));
    sim.send(b, a, ping(100 + i));
  }
  const got = (n: typeof a) => n.delivered.map((p) => new TextDecoder().decode(p).replace(/\0+$/, ''));
  t.deepEqual(
    got(b).filter((x) => x !== ''),
    [1, 3, 4, 5, 6, 7, 8].map((n) => `inner packet ${n}`),
  );
  t.deepEqual(
    got(a).filter((x) => x !== ''),
    [2, 103, 104, 105, 106, 107, 108].map((n) => `inner packet ${n}`),
  );
  t.is(
    sim.sent('a', MESSAGE.initiation).length + sim.sent('b', MESSAGE.initiation).length,
    2,
    'no new handshake',
  );
});
