import test from 'ava';
import fc from 'fast-check';
import { DEFAULT_TIMINGS, timingsWith } from '../../core/wireguard/constants.js';
import { Session } from '../../core/wireguard/keypair.js';
import { parseTransport } from '../../core/wireguard/messages.js';
import { aeadOpen } from '../../core/wireguard/primitives.js';
import { REPLAY_WINDOW_SIZE, ReplayWindow } from '../../core/wireguard/replayWindow.js';

function pair(timings = DEFAULT_TIMINGS): [Session, Session] {
  const k1 = new Uint8Array(32).fill(0x11);
  const k2 = new Uint8Array(32).fill(0x22);
  const a = new Session(
    { sendKey: k1.slice(), receiveKey: k2.slice() },
    { localIndex: 100, remoteIndex: 200, isInitiator: true, createdAt: 0 },
    timings,
  );
  const b = new Session(
    { sendKey: k2.slice(), receiveKey: k1.slice() },
    { localIndex: 200, remoteIndex: 100, isInitiator: false, createdAt: 0 },
    timings,
  );
  return [a, b];
}

function open(s: Session, bytes: Uint8Array, now = 0) {
  const parsed = parseTransport(bytes);
  if (!parsed.ok) throw new Error(parsed.reason);
  return s.decrypt(parsed.value, now);
}

test('transport round-trip: padded to 16, counter nonces 0,1,2, receiver index of the peer', (t) => {
  const [a, b] = pair();
  for (let i = 0; i < 3; i++) {
    const packet = new Uint8Array(21 + i).fill(i + 1);
    const msg = a.encrypt(packet, 0)!;
    const dv = new DataView(msg.buffer, msg.byteOffset);
    t.is(dv.getUint32(0, true), 4);
    t.is(dv.getUint32(4, true), 200);
    t.is(dv.getBigUint64(8, true), BigInt(i));
    t.is(msg.length, 16 + 32 + 16, 'header + 21..23 bytes padded to 32 + tag');
    // The nonce is 4 zero bytes then the little-endian counter (whitepaper §5.4.6).
    t.truthy(aeadOpen(new Uint8Array(32).fill(0x11), BigInt(i), msg.subarray(16), new Uint8Array(0)));
    const opened = open(b, msg);
    t.true(opened.ok);
    if (opened.ok) t.deepEqual(opened.value.subarray(0, packet.length), packet);
  }
});

test('a keepalive is an empty payload: 32 bytes on the wire', (t) => {
  const [a, b] = pair();
  const msg = a.encrypt(new Uint8Array(0), 0)!;
  t.is(msg.length, 32);
  const opened = open(b, msg);
  t.true(opened.ok && opened.value.length === 0);
});

test('padding never pushes a packet beyond the MTU', (t) => {
  const [a] = pair();
  t.is(a.encrypt(new Uint8Array(1419), 0, 1420)!.length, 16 + 1420 + 16);
  t.is(a.encrypt(new Uint8Array(1420), 0, 1420)!.length, 16 + 1420 + 16);
});

test('a replayed or tampered transport message is dropped', (t) => {
  const [a, b] = pair();
  const msg = a.encrypt(new Uint8Array(10), 0)!;
  t.true(open(b, msg).ok);
  t.deepEqual(open(b, msg), { ok: false, reason: 'replayedCounter' });
  const forged = a.encrypt(new Uint8Array(10), 0)!;
  forged[20]! ^= 1;
  t.deepEqual(open(b, forged), { ok: false, reason: 'decryptFailed' });
  // The forged packet did not burn its counter: the genuine one with the same counter still opens.
  const [a2, b2] = pair();
  const genuine = a2.encrypt(new Uint8Array(10), 0)!;
  const bad = genuine.slice();
  bad[30]! ^= 1;
  t.false(open(b2, bad).ok);
  t.true(open(b2, genuine).ok);
});

test('sessions refuse to send or receive after REJECT_AFTER_TIME and at REJECT_AFTER_MESSAGES', (t) => {
  const [a, b] = pair();
  const msg = a.encrypt(new Uint8Array(1), 0)!;
  t.is(a.encrypt(new Uint8Array(1), 180_000), null);
  t.deepEqual(open(b, msg, 180_000), { ok: false, reason: 'sessionExpired' });

  const [c] = pair(timingsWith({ rejectAfterMessages: 2n }));
  t.truthy(c.encrypt(new Uint8Array(1), 0));
  t.truthy(c.encrypt(new Uint8Array(1), 0));
  t.is(c.encrypt(new Uint8Array(1), 0), null);
});

test('only the initiator rekeys, at REKEY_AFTER_TIME or REKEY_AFTER_MESSAGES', (t) => {
  const [a, b] = pair(timingsWith({ rekeyAfterMessages: 3n }));
  t.false(a.wantsRekeyOnSend(119_999));
  t.true(a.wantsRekeyOnSend(120_000));
  t.false(b.wantsRekeyOnSend(120_000));
  for (let i = 0; i < 3; i++) a.encrypt(new Uint8Array(0), 0);
  t.true(a.wantsRekeyOnSend(0));
  t.false(a.wantsRekeyOnReceive(164_999));
  t.true(a.wantsRekeyOnReceive(165_000));
});

test('zero() erases both keys and stops the session', (t) => {
  const [a] = pair();
  a.zero();
  t.deepEqual(a.keyMaterial().sendKey, new Uint8Array(32));
  t.deepEqual(a.keyMaterial().receiveKey, new Uint8Array(32));
  t.is(a.encrypt(new Uint8Array(1), 0), null);
});

test('replay window accepts each counter once, in any order within the window', (t) => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: 0n, max: 20_000n }), { maxLength: 200 }), (counters) => {
      const w = new ReplayWindow(1n << 62n);
      const seen = new Set<bigint>();
      let highest = -1n;
      for (const c of counters) {
        const fresh = !seen.has(c) && (c > highest || highest - c < BigInt(REPLAY_WINDOW_SIZE));
        if (w.check(c) !== fresh) return false;
        if (fresh) {
          w.accept(c);
          seen.add(c);
          if (c > highest) highest = c;
        }
      }
      return true;
    }),
  );
  t.false(new ReplayWindow(10n).check(10n), 'counters at the limit are refused');
});
