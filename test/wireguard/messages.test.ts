/** Parsers meet junk from the network: every input gives a value or a typed drop, never an exception. */
import test from 'ava';
import fc from 'fast-check';
import {
  type DropReason,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  encodeTransport,
  parseCookieReply,
  parseInitiation,
  parseMessage,
  parseResponse,
  parseTransport,
} from '../../core/wireguard/messages.js';
import { MESSAGE, Sim } from './sim.js';

const REASONS: readonly DropReason[] = [
  'empty',
  'unknownType',
  'badLength',
  'tooLarge',
  'badMac1',
  'needCookie',
  'unknownReceiver',
  'unknownPeer',
  'decryptFailed',
  'badPublicKey',
  'replayedTimestamp',
  'replayedCounter',
  'sessionExpired',
  'unexpectedMessage',
];
const parsers = { parseMessage, parseInitiation, parseResponse, parseCookieReply, parseTransport };
const SIZES = { 1: 148, 2: 92, 3: 64 } as const;

/** Bytes that look like WireGuard: a real type word, and often a plausible length. */
const wireLike = fc
  .tuple(
    fc.constantFrom(1, 2, 3, 4),
    fc.oneof(fc.constantFrom(148, 92, 64, 32, 33, 100), fc.nat(300)),
    fc.uint8Array({ minLength: 300, maxLength: 300 }),
  )
  .map(([type, length, body]) => {
    const bytes = body.slice(0, length);
    if (bytes.length >= 4) bytes.set([type, 0, 0, 0]);
    return bytes;
  });

for (const [name, parse] of Object.entries(parsers)) {
  test(`${name} returns a value or a typed drop for any bytes`, (t) => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 400 }), wireLike), (bytes) => {
        const r = parse(bytes);
        return r.ok || REASONS.includes(r.reason);
      }),
      { numRuns: 2_000 },
    );
    t.deepEqual(parse(new Uint8Array(0)), { ok: false, reason: 'empty' });
  });
}

test('every fixed-size message truncated or extended by any amount is dropped as badLength', (t) => {
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 3),
      fc.integer({ min: 1, max: 200 }),
      fc.boolean(),
      (type, delta, longer) => {
        const size = SIZES[type as 1 | 2 | 3];
        const length = longer ? size + delta : size - delta;
        if (length < 4) return true;
        const bytes = new Uint8Array(length);
        bytes[0] = type;
        const r = parseMessage(bytes);
        return !r.ok && r.reason === 'badLength';
      },
    ),
  );
  t.deepEqual(parseMessage(Uint8Array.of(1, 0)), { ok: false, reason: 'badLength' });
});

test('transport messages: shorter than header + tag is badLength, over 65535 bytes is tooLarge', (t) => {
  const header = (n: number) => {
    const b = new Uint8Array(n);
    b[0] = 4;
    return b;
  };
  t.deepEqual(parseTransport(header(31)), { ok: false, reason: 'badLength' });
  t.true(parseTransport(header(32)).ok);
  t.true(parseTransport(header(65_535)).ok);
  t.deepEqual(parseTransport(header(65_536)), { ok: false, reason: 'tooLarge' });
  t.deepEqual(parseMessage(header(70_000)), { ok: false, reason: 'tooLarge' });
});

test('non-zero reserved bytes or unknown types are unknownType', (t) => {
  t.deepEqual(parseMessage(Uint8Array.of(1, 1, 0, 0, ...new Uint8Array(144))), {
    ok: false,
    reason: 'unknownType',
  });
  t.deepEqual(parseMessage(Uint8Array.of(5, 0, 0, 0)), { ok: false, reason: 'unknownType' });
  t.deepEqual(parseInitiation(Uint8Array.of(2, 0, 0, 0, ...new Uint8Array(144))), {
    ok: false,
    reason: 'unknownType',
  });
});

test('encoders and parsers agree on every field', (t) => {
  fc.assert(
    fc.property(
      fc.nat(0xffffffff),
      fc.nat(0xffffffff),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      (i, j, c) => {
        const k = (n: number, v: number) => new Uint8Array(n).fill(v);
        const init = parseInitiation(
          encodeInitiation({
            senderIndex: i,
            ephemeral: k(32, 1),
            encryptedStatic: k(48, 2),
            encryptedTimestamp: k(28, 3),
            mac1: k(16, 4),
            mac2: k(16, 5),
          }),
        );
        const resp = parseResponse(
          encodeResponse({
            senderIndex: i,
            receiverIndex: j,
            ephemeral: k(32, 1),
            encryptedNothing: k(16, 2),
          }),
        );
        const cookie = parseCookieReply(
          encodeCookieReply({ receiverIndex: j, nonce: k(24, 1), encryptedCookie: k(32, 2) }),
        );
        const transport = parseTransport(
          encodeTransport({ receiverIndex: j, counter: c, encryptedPacket: k(20, 9) }),
        );
        return (
          init.ok &&
          init.value.senderIndex === i &&
          init.value.mac2[0] === 5 &&
          init.value.encryptedTimestamp.length === 28 &&
          resp.ok &&
          resp.value.senderIndex === i &&
          resp.value.receiverIndex === j &&
          cookie.ok &&
          cookie.value.receiverIndex === j &&
          cookie.value.nonce.length === 24 &&
          transport.ok &&
          transport.value.counter === c &&
          transport.value.receiverIndex === j &&
          transport.value.encryptedPacket.length === 20
        );
      },
    ),
  );
  t.is(
    encodeInitiation({
      senderIndex: 1,
      ephemeral: new Uint8Array(32),
      encryptedStatic: new Uint8Array(48),
      encryptedTimestamp: new Uint8Array(28),
    }).length,
    148,
  );
});

test('a device fed random and mutated datagrams drops them with a reason and never throws', (t) => {
  const sim = new Sim(51);
  const a = sim.addNode('a');
  const b = sim.addNode('b');
  sim.connect(a, b);
  sim.send(a, b, new Uint8Array(20));
  const genuine = sim.wire.map((d) => d.bytes);
  const mutated = fc
    .tuple(fc.constantFrom(...genuine), fc.nat(), fc.integer({ min: 1, max: 255 }))
    .map(([bytes, at, x]) => {
      const copy = bytes.slice();
      copy[at % copy.length]! ^= x;
      return copy;
    });
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), wireLike, mutated), (bytes) => {
      const out = b.device.receive(bytes, a.endpoint, sim.now);
      return out.dropped.length === 1 && out.delivered.length === 0 && REASONS.includes(out.dropped[0]!);
    }),
    { numRuns: 1_000 },
  );
  t.is(b.delivered.length, 1);
  t.true(sim.sent('a', MESSAGE.transport).length >= 1);
});
