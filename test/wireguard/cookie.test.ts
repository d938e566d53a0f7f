/** mac1, mac2 and cookie replies (whitepaper §5.3, §5.4.4, §5.4.7). */
import test from 'ava';
import { CookieChecker, CookieJar } from '../../core/wireguard/cookie.js';
import { parseCookieReply } from '../../core/wireguard/messages.js';
import { generateKeyPair } from '../../core/wireguard/primitives.js';
import { MESSAGE, Sim, seededRandom } from './sim.js';

const data = new TextEncoder().encode('inner');
const mac2Of = (bytes: Uint8Array) => bytes.subarray(132, 148);
const isZero = (b: Uint8Array) => b.every((x) => x === 0);

test('an initiation with a wrong mac1 is dropped before any Diffie-Hellman, with no reply', (t) => {
  const sim = new Sim(41);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.pass = () => false;
  sim.send(a, b, data);
  const init = sim.sent('a', MESSAGE.initiation)[0]!.bytes.slice();
  init[120]! ^= 1;
  const out = b.device.receive(init, a.endpoint, sim.now);
  t.deepEqual(out.dropped, ['badMac1']);
  t.is(out.transmit.length, 0);
  // The same with a flipped body byte: mac1 covers the whole message before it.
  const init2 = sim.sent('a', MESSAGE.initiation)[0]!.bytes.slice();
  init2[50]! ^= 1;
  t.deepEqual(b.device.receive(init2, a.endpoint, sim.now).dropped, ['badMac1']);
});

test('under load: cookie reply, then the retry carries mac2 and is accepted', (t) => {
  const sim = new Sim(42);
  const a = sim.addNode('a');
  let loaded = true;
  const b = sim.addNode('b', { underLoad: () => loaded });
  sim.connect(a, b);
  sim.send(a, b, data);

  const inits = () => sim.sent('a', MESSAGE.initiation);
  t.true(isZero(mac2Of(inits()[0]!.bytes)), 'no cookie yet: mac2 is zero');
  t.is(sim.sent('b', MESSAGE.cookieReply).length, 1);
  t.is(sim.sent('b', MESSAGE.response).length, 0, 'no handshake work for a message without mac2');
  t.deepEqual(b.dropped, ['needCookie']);
  t.is(inits().length, 1, 'the initiator waits for its retry timer (whitepaper §6.6)');

  sim.advance(5_400);
  t.is(inits().length, 2);
  t.false(isZero(mac2Of(inits()[1]!.bytes)), 'the retry carries mac2');
  t.is(sim.sent('b', MESSAGE.response).length, 1);
  t.is(b.delivered.length, 1, 'handshake completed under load');

  // Off load, mac2 is not needed.
  loaded = false;
  t.truthy(b.device.peer(a.keys.publicKey)!.sendingSession);
});

test('a cookie is bound to the source address and expires with the 2-minute secret', (t) => {
  const random = seededRandom(43);
  const responder = generateKeyPair(random);
  const checker = new CookieChecker(responder.publicKey, random);
  const jar = new CookieJar(responder.publicKey);
  const here = { address: '198.51.100.7', port: 40000 };
  const msg = () => {
    const bytes = new Uint8Array(148);
    bytes.set(random(140), 4);
    bytes[0] = 1;
    return bytes;
  };

  const first = msg();
  jar.stamp(first, 0);
  t.true(checker.checkMac1(first));
  t.false(checker.checkMac2(first, here, 0));
  const reply = parseCookieReply(checker.createReply(first, 7, here, 0));
  if (!reply.ok) return t.fail(reply.reason);
  t.is(reply.value.receiverIndex, 7);
  t.true(jar.consumeReply(reply.value, 1_000));
  t.false(jar.consumeReply(reply.value, 1_000), 'a cookie reply is good for one message only');

  const second = msg();
  jar.stamp(second, 2_000);
  t.true(checker.checkMac2(second, here, 2_000));
  t.false(checker.checkMac2(second, { address: '198.51.100.8', port: 40000 }, 2_000), 'other address');
  t.false(checker.checkMac2(second, { ...here, port: 40001 }, 2_000), 'other port');
  t.false(checker.checkMac2(second, here, 120_000), 'the secret changed after 2 minutes');

  // The initiator stops using a cookie 120 s after receiving it.
  t.true(jar.hasFreshCookie(120_999));
  t.false(jar.hasFreshCookie(121_000));
  const third = msg();
  jar.stamp(third, 121_000);
  t.true(isZero(mac2Of(third)));
});

test('a cookie reply to anything but our last message, or from another key, is ignored', (t) => {
  const random = seededRandom(44);
  const responder = generateKeyPair(random);
  const checker = new CookieChecker(responder.publicKey, random);
  const jar = new CookieJar(responder.publicKey);
  const here = { address: '198.51.100.7', port: 40000 };
  const mine = new Uint8Array(148);
  mine[0] = 1;
  jar.stamp(mine, 0);
  // A newer message went out since: only the last stamped message's mac1 is remembered.
  const newer = mine.slice();
  newer[10] = 1;
  jar.stamp(newer, 0);
  const reply = parseCookieReply(checker.createReply(mine, 1, here, 0));
  if (!reply.ok) return t.fail();
  t.false(jar.consumeReply(reply.value, 0));
  t.false(jar.hasFreshCookie(0));
  // And one encrypted to a different responder key never opens.
  const other = new CookieChecker(generateKeyPair(random).publicKey, random);
  jar.stamp(mine, 0);
  const forged = parseCookieReply(other.createReply(mine, 1, here, 0));
  if (!forged.ok) return t.fail();
  t.false(jar.consumeReply(forged.value, 0));
});

test('responses are mac-checked too: a response with a bad mac1 is dropped', (t) => {
  const sim = new Sim(45);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.pass = (d) => d.bytes[0] !== MESSAGE.response;
  sim.send(a, b, data);
  const response = sim.sent('b', MESSAGE.response)[0]!.bytes.slice();
  response[70]! ^= 1;
  t.deepEqual(a.device.receive(response, b.endpoint, sim.now).dropped, ['badMac1']);
  t.true(
    a.device.peer(b.keys.publicKey)!.handshakeInFlight,
    'a forged response does not cancel the handshake',
  );
});
