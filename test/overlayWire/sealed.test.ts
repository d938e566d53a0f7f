/** The sealed envelope: only the two key holders can read or make one, and each is accepted once. */
import test from 'ava';
import nacl from 'tweetnacl';
import { MAX_DATAGRAM, REPLAY_WINDOW_MS, TYPE_SEALED } from '../../core/overlayWire/constants.js';
import type { InnerMessage } from '../../core/overlayWire/innerMessage.js';
import { ReplayGuard } from '../../core/overlayWire/replayGuard.js';
import { SealedChannel } from '../../core/overlayWire/sealed.js';

const NOW = 1_750_000_000_000;
const gossip: InnerMessage = { kind: 'gossip', body: new TextEncoder().encode('hello') };

function node() {
  const keys = nacl.box.keyPair();
  return { keys, channel: new SealedChannel({ privateKey: keys.secretKey, publicKey: keys.publicKey }) };
}

test('a sealed message opens at its receiver, which learns the sender key', (t) => {
  const a = node();
  const b = node();
  const datagram = a.channel.seal(b.keys.publicKey, gossip, NOW);
  t.is(datagram[0], TYPE_SEALED);
  const opened = b.channel.open(datagram, NOW + 10);
  if (!opened.ok) return t.fail(opened.reason);
  t.deepEqual(opened.senderPublicKey, a.keys.publicKey);
  t.deepEqual(opened.message, gossip);
  t.is(opened.sentAt, NOW);
});

test('the plaintext does not appear on the wire', (t) => {
  const a = node();
  const b = node();
  const body = new TextEncoder().encode('secret-secret-secret');
  const datagram = Buffer.from(a.channel.seal(b.keys.publicKey, { kind: 'gossip', body }, NOW));
  t.is(datagram.indexOf(Buffer.from(body)), -1);
});

test('a flipped bit anywhere after the type byte makes the message fail to open', (t) => {
  const a = node();
  const b = node();
  const datagram = a.channel.seal(b.keys.publicKey, gossip, NOW);
  for (const at of [1, 20, 40, 60, datagram.length - 1]) {
    const bad = datagram.slice();
    bad[at]! ^= 1;
    const opened = b.channel.open(bad, NOW);
    t.false(opened.ok, `byte ${at}`);
  }
});

test('a third key cannot forge a message in the name of a member', (t) => {
  const a = node();
  const b = node();
  const mallory = node();
  const forged = mallory.channel.seal(b.keys.publicKey, gossip, NOW);
  forged.set(a.keys.publicKey, 1); // claims to be a
  t.deepEqual(b.channel.open(forged, NOW), { ok: false, reason: 'decryptFailed' });
});

test('a message for someone else does not open', (t) => {
  const a = node();
  const b = node();
  const c = node();
  t.deepEqual(c.channel.open(a.channel.seal(b.keys.publicKey, gossip, NOW), NOW), {
    ok: false,
    reason: 'decryptFailed',
  });
});

test('a message reflected back to its sender under the receiver key is refused', (t) => {
  const a = node();
  const b = node();
  const reflected = a.channel.seal(b.keys.publicKey, gossip, NOW);
  reflected.set(b.keys.publicKey, 1);
  t.deepEqual(a.channel.open(reflected, NOW), { ok: false, reason: 'reflected' });
});

test('the same datagram twice is accepted once, then dropped as a replay', (t) => {
  const a = node();
  const b = node();
  const datagram = a.channel.seal(b.keys.publicKey, gossip, NOW);
  t.true(b.channel.open(datagram, NOW).ok);
  t.deepEqual(b.channel.open(datagram, NOW + 1_000), { ok: false, reason: 'replayed' });
});

test('a message older or newer than the replay window is refused', (t) => {
  const a = node();
  const b = node();
  const old = a.channel.seal(b.keys.publicKey, gossip, NOW - REPLAY_WINDOW_MS - 1);
  t.deepEqual(b.channel.open(old, NOW), { ok: false, reason: 'stale' });
  const future = a.channel.seal(b.keys.publicKey, gossip, NOW + REPLAY_WINDOW_MS + 1);
  t.deepEqual(b.channel.open(future, NOW), { ok: false, reason: 'future' });
});

test('a low-order public key, whose box key anyone can compute, is refused', (t) => {
  const b = node();
  const zeroKey = new Uint8Array(32);
  const forged = new Uint8Array(200);
  forged[0] = TYPE_SEALED;
  forged.set(zeroKey, 1);
  t.deepEqual(b.channel.open(forged, NOW), { ok: false, reason: 'badPublicKey' });
  t.throws(() => b.channel.seal(zeroKey, gossip, NOW));
});

test('short, oversized and foreign datagrams are dropped by size and type before any crypto', (t) => {
  const b = node();
  t.deepEqual(b.channel.open(new Uint8Array([TYPE_SEALED, 1, 2]), NOW), { ok: false, reason: 'tooShort' });
  const big = new Uint8Array(MAX_DATAGRAM + 1);
  big[0] = TYPE_SEALED;
  t.deepEqual(b.channel.open(big, NOW), { ok: false, reason: 'tooLarge' });
  t.deepEqual(b.channel.open(new Uint8Array([1, 0, 0, 0]), NOW), { ok: false, reason: 'wrongType' });
});

test('the largest gossip body still fits one 1280-byte datagram', (t) => {
  const a = node();
  const b = node();
  const body = new Uint8Array(1280 - 1 - 32 - 24 - 16 - 18).fill(7);
  const datagram = a.channel.seal(b.keys.publicKey, { kind: 'gossip', body }, NOW);
  t.is(datagram.length, MAX_DATAGRAM);
  t.true(b.channel.open(datagram, NOW).ok);
  t.throws(() =>
    a.channel.seal(b.keys.publicKey, { kind: 'gossip', body: new Uint8Array(body.length + 1) }, NOW),
  );
});

test('the replay guard keeps bounded memory and never readmits a message it forgot', (t) => {
  const guard = new ReplayGuard(60_000, 100);
  for (let i = 0; i < 1_000; i++) t.is(guard.check('peer', `id${i}`, NOW + i, NOW + i), 'fresh');
  t.is(guard.size, 100);
  // id0..id899 were forgotten; replaying any is refused by the floor, not accepted.
  t.is(guard.check('peer', 'id5', NOW + 5, NOW + 1_000), 'stale');
  t.is(guard.check('peer', 'id950', NOW + 950, NOW + 1_000), 'replayed');
  t.is(guard.check('peer', 'new', NOW + 1_000, NOW + 1_000), 'fresh');
});
