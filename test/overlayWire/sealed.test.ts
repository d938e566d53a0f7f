/** The sealed envelope: only the two key holders can read or make one, and each is accepted once. */
import { createHash, createHmac } from 'node:crypto';
import test from 'ava';
import nacl from 'tweetnacl';
import { MAX_CLOCK_SKEW_MS } from '../../core/clockSkew.js';
import { MAX_DATAGRAM, REORDER_WINDOW_MS, TYPE_SEALED } from '../../core/overlayWire/constants.js';
import type { InnerMessage } from '../../core/overlayWire/innerMessage.js';
import { ReplayGuard } from '../../core/overlayWire/replayGuard.js';
import { mac1Key, SealedChannel, sharedBoxKey } from '../../core/overlayWire/sealed.js';

const NOW = 1_750_000_000_000;
const gossip: InnerMessage = { kind: 'gossip', body: new TextEncoder().encode('hello') };

/** What an attacker who knows the receiver's public key does after editing a datagram. */
function remac(datagram: Uint8Array, receiver: Uint8Array): Uint8Array {
  const at = datagram.length - 16;
  datagram.set(
    createHmac('sha256', mac1Key(receiver)).update(datagram.subarray(0, at)).digest().subarray(0, 16),
    at,
  );
  return datagram;
}

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
  t.deepEqual(b.channel.open(forged, NOW), { ok: false, reason: 'badMac1' });
  t.deepEqual(b.channel.open(remac(forged, b.keys.publicKey), NOW), { ok: false, reason: 'decryptFailed' });
});

test('a message for someone else does not open', (t) => {
  const a = node();
  const b = node();
  const c = node();
  const toB = a.channel.seal(b.keys.publicKey, gossip, NOW);
  t.deepEqual(c.channel.open(toB, NOW), { ok: false, reason: 'badMac1' });
  t.deepEqual(c.channel.open(remac(toB, c.keys.publicKey), NOW), { ok: false, reason: 'decryptFailed' });
});

test('a message reflected back to its sender under the receiver key is refused', (t) => {
  const a = node();
  const b = node();
  const reflected = a.channel.seal(b.keys.publicKey, gossip, NOW);
  reflected.set(b.keys.publicKey, 1);
  t.deepEqual(a.channel.open(remac(reflected, a.keys.publicKey), NOW), { ok: false, reason: 'reflected' });
});

test('the same datagram twice is accepted once, then dropped as a replay', (t) => {
  const a = node();
  const b = node();
  const datagram = a.channel.seal(b.keys.publicKey, gossip, NOW);
  t.true(b.channel.open(datagram, NOW).ok);
  t.like(b.channel.open(datagram, NOW + 1_000), { ok: false, reason: 'replayed' });
});

test('a message further than the clock-skew budget from our time is refused, saying by how much', (t) => {
  const a = node();
  const b = node();
  const old = a.channel.seal(b.keys.publicKey, gossip, NOW - MAX_CLOCK_SKEW_MS - 1);
  t.like(b.channel.open(old, NOW), { ok: false, reason: 'stale', skewMs: -MAX_CLOCK_SKEW_MS - 1 });
  const future = a.channel.seal(b.keys.publicKey, gossip, NOW + 75_000);
  t.like(b.channel.open(future, NOW), { ok: false, reason: 'future', skewMs: 75_000 });
  // Just inside the budget either way is fine.
  t.true(b.channel.open(a.channel.seal(b.keys.publicKey, gossip, NOW + MAX_CLOCK_SKEW_MS - 1), NOW).ok);
});

test("a message more than the reorder window behind its sender's newest is stale, and says nothing of clocks", (t) => {
  const a = node();
  const b = node();
  const late = a.channel.seal(b.keys.publicKey, gossip, NOW - REORDER_WINDOW_MS - 1);
  t.true(b.channel.open(a.channel.seal(b.keys.publicKey, gossip, NOW), NOW).ok);
  const opened = b.channel.open(late, NOW);
  t.like(opened, { ok: false, reason: 'stale' });
  t.false('skewMs' in opened);
  // Reordered by less than the window: accepted.
  t.true(b.channel.open(a.channel.seal(b.keys.publicKey, gossip, NOW - REORDER_WINDOW_MS + 100), NOW).ok);
});

test('a datagram whose mac1 was not made with the receiver key is dropped before any key work', (t) => {
  const a = node();
  const b = node();
  const c = node();
  const toC = a.channel.seal(c.keys.publicKey, gossip, NOW);
  t.deepEqual(b.channel.screen(toC), { ok: false, reason: 'badMac1' });
  t.deepEqual(b.channel.open(toC, NOW), { ok: false, reason: 'badMac1' });
  // Random bytes with the right type and size never get past mac1 either.
  const junk = nacl.randomBytes(300);
  junk[0] = TYPE_SEALED;
  t.deepEqual(b.channel.open(junk, NOW), { ok: false, reason: 'badMac1' });
  t.is(b.channel.sizes.boxKeys, 0, 'no box key was computed for junk');
});

test('mac1 is HMAC-SHA256 keyed by SHA-256 of a label and the receiver key, over everything before it', (t) => {
  const a = node();
  const b = node();
  const datagram = a.channel.seal(b.keys.publicKey, gossip, NOW);
  const key = createHash('sha256').update('overlay sealed mac1 v1').update(b.keys.publicKey).digest();
  t.deepEqual(mac1Key(b.keys.publicKey), new Uint8Array(key));
  const expected = createHmac('sha256', key)
    .update(datagram.subarray(0, datagram.length - 16))
    .digest();
  t.deepEqual(datagram.subarray(datagram.length - 16), new Uint8Array(expected.subarray(0, 16)));
});

test("the box key made with OpenSSL X25519 is NaCl's crypto_box_beforenm", (t) => {
  for (let i = 0; i < 20; i++) {
    const x = nacl.box.keyPair();
    const y = nacl.box.keyPair();
    t.deepEqual(sharedBoxKey(y.publicKey, x.secretKey), nacl.box.before(y.publicKey, x.secretKey));
  }
});

test("sixteen thousand future-dated messages from a stranger cannot make a member's messages stale", (t) => {
  // The review's blackout: 16k future-dated messages from a non-member filled the one replay
  // guard all senders shared, whose floor then rose above every member's clock for a minute.
  const member = node();
  const stranger = node();
  const b = node();
  for (let i = 0; i < 16_000; i++) {
    b.channel.open(stranger.channel.seal(b.keys.publicKey, gossip, NOW + MAX_CLOCK_SKEW_MS - 1_000), NOW);
  }
  const opened = b.channel.open(member.channel.seal(b.keys.publicKey, gossip, NOW), NOW);
  t.true(opened.ok, opened.ok ? '' : opened.reason);
});

test('a stranger is opened without taking a place in the member tables, and its replays are refused', (t) => {
  const stranger = node();
  const b = node();
  const request = stranger.channel.seal(b.keys.publicKey, gossip, NOW);
  t.true(b.channel.open(request, NOW, { standing: 'stranger' }).ok);
  t.like(b.channel.open(request, NOW, { standing: 'stranger' }), { ok: false, reason: 'replayed' });
  t.like(b.channel.sizes, { boxKeys: 0, senders: 0, strangers: 1 });
});

test("a stranger's message outside the clock budget is returned marked with the skew, and not recorded", (t) => {
  const stranger = node();
  const b = node();
  const ahead = stranger.channel.seal(b.keys.publicKey, gossip, NOW + 75_000);
  t.like(b.channel.open(ahead, NOW, { standing: 'stranger' }), {
    ok: true,
    skewMs: 75_000,
    sentAt: NOW + 75_000,
  });
  t.is(b.channel.sizes.strangers, 0);
});

test('a low-order public key, whose box key anyone can compute, is refused', (t) => {
  const b = node();
  const zeroKey = new Uint8Array(32);
  const forged = new Uint8Array(200);
  forged[0] = TYPE_SEALED;
  forged.set(zeroKey, 1);
  t.deepEqual(b.channel.open(remac(forged, b.keys.publicKey), NOW), { ok: false, reason: 'badPublicKey' });
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
  const body = new Uint8Array(1280 - 1 - 32 - 24 - 16 - 16 - 18).fill(7);
  const datagram = a.channel.seal(b.keys.publicKey, { kind: 'gossip', body }, NOW);
  t.is(datagram.length, MAX_DATAGRAM);
  t.true(b.channel.open(datagram, NOW).ok);
  t.throws(() =>
    a.channel.seal(b.keys.publicKey, { kind: 'gossip', body: new Uint8Array(body.length + 1) }, NOW),
  );
});

test("one sender filling its recent ids raises only its own floor, never another's", (t) => {
  const guard = new ReplayGuard({ idsPerSender: 100 });
  for (let i = 0; i < 1_000; i++) t.is(guard.check('noisy', `id${i}`, NOW + i, NOW + i), 'fresh');
  t.is(guard.ids, 100);
  // id0..id899 were forgotten; replaying any is refused by the floor, not accepted.
  t.is(guard.check('noisy', 'id5', NOW + 5, NOW + 1_000), 'stale');
  t.is(guard.check('noisy', 'id950', NOW + 950, NOW + 1_000), 'replayed');
  t.is(guard.check('noisy', 'new', NOW + 1_000, NOW + 1_000), 'fresh');
  // Another sender's older message, within its own reorder window, is unaffected.
  t.is(guard.check('quiet', 'x', NOW + 10, NOW + 1_000), 'fresh');
  t.is(guard.check('quiet', 'x', NOW + 10, NOW + 1_000), 'replayed');
});

test('the replay guard keeps a bounded number of senders, forgetting the least recently heard', (t) => {
  const guard = new ReplayGuard({ senders: 3 });
  for (const s of ['a', 'b', 'c']) guard.check(s, 'm1', NOW, NOW);
  guard.check('a', 'm2', NOW + 1, NOW + 1); // a heard again: b is now the least recent
  guard.check('d', 'm1', NOW + 2, NOW + 2);
  t.is(guard.size, 3);
  t.is(guard.check('a', 'm1', NOW, NOW + 3), 'replayed');
  t.is(guard.check('b', 'm1', NOW, NOW + 3), 'fresh', 'b was forgotten');
  guard.forget('d');
  t.is(guard.size, 2);
});
