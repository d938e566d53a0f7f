/**
 * The STUN codec: RFC 5769's sample messages decode to the addresses the RFC gives, what we encode
 * decodes to itself, and malformed or hostile datagrams are refused with a reason, never a throw.
 */
import { crc32 } from 'node:zlib';
import test from 'ava';
import fc from 'fast-check';
import {
  decodeBindingRequest,
  decodeBindingResponse,
  encodeBindingRequest,
  encodeBindingSuccess,
  isStunMessage,
} from '../../core/stun/index.js';

/** Hex as the RFC prints it (spaces, line breaks) to bytes. */
const hex = (text: string) => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'));

// RFC 5769 (Test Vectors for STUN), typed in from the RFC's text. All three share this txid.
const RFC_TXID = hex('b7 e7 a7 01 bc 34 d6 86 fa 87 df ae');
// §2.1 Sample Request: SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME, MESSAGE-INTEGRITY, FINGERPRINT.
const RFC_REQUEST = hex(`
  00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
  00 24 00 04 6e 00 01 ff
  80 29 00 08 93 2f f9 b1 51 26 3b 36
  00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
  00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
  80 28 00 04 e5 7a 3b cf`);
// §2.2 Sample IPv4 Response: SOFTWARE, XOR-MAPPED-ADDRESS, MESSAGE-INTEGRITY, FINGERPRINT.
const RFC_IPV4_RESPONSE = hex(`
  01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 08 00 01 a1 47 e1 12 a6 43
  00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
  80 28 00 04 c0 7d 4c 96`);
// §2.3 Sample IPv6 Response: the same, with an IPv6 XOR-MAPPED-ADDRESS.
const RFC_IPV6_RESPONSE = hex(`
  01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
  80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
  00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
  00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
  80 28 00 04 c8 fb 0b 4c`);

/**
 * A STUN message built here, independently of the codec: header, then each attribute with its
 * value padded to 4 bytes.
 */
function stun(type: number, txid: Uint8Array, attributes: [number, Uint8Array][] = []): Uint8Array {
  const body = attributes.flatMap(([t, v]) => [
    ...[t >> 8, t & 0xff, v.length >> 8, v.length & 0xff],
    ...v,
    ...new Array<number>((4 - (v.length % 4)) % 4).fill(0),
  ]);
  return Uint8Array.of(
    type >> 8,
    type & 0xff,
    body.length >> 8,
    body.length & 0xff,
    0x21,
    0x12,
    0xa4,
    0x42,
    ...txid,
    ...body,
  );
}

const TXID = hex('000102030405060708090a0b');
const mappedV4 = (a: number[], port: number) => Uint8Array.of(0, 1, port >> 8, port & 0xff, ...a);

test('the typed-in RFC 5769 vectors are intact: their FINGERPRINTs check out (RFC 8489 §14.7)', (t) => {
  for (const m of [RFC_REQUEST, RFC_IPV4_RESPONSE, RFC_IPV6_RESPONSE]) {
    const expected = Buffer.from(m).readUInt32BE(m.length - 4);
    t.is((crc32(m.subarray(0, m.length - 8)) ^ 0x5354554e) >>> 0, expected);
  }
});

test("RFC 5769's IPv4 response gives 192.0.2.1:32853, past SOFTWARE, MESSAGE-INTEGRITY and FINGERPRINT", (t) => {
  t.true(isStunMessage(RFC_IPV4_RESPONSE));
  t.deepEqual(decodeBindingResponse(RFC_IPV4_RESPONSE), {
    ok: true,
    txid: RFC_TXID,
    mapped: { address: '192.0.2.1', port: 32853 },
  });
});

test("RFC 5769's IPv6 response gives [2001:db8:1234:5678:11:2233:4455:6677]:32853", (t) => {
  t.deepEqual(decodeBindingResponse(RFC_IPV6_RESPONSE), {
    ok: true,
    txid: RFC_TXID,
    mapped: { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 },
  });
});

test("our success response carries the same XOR-MAPPED-ADDRESS bytes as RFC 5769's, for IPv4 and IPv6", (t) => {
  const v4 = encodeBindingSuccess(RFC_TXID, { address: '192.0.2.1', port: 32853 });
  t.deepEqual(v4.subarray(20), RFC_IPV4_RESPONSE.subarray(36, 48));
  t.deepEqual(v4.subarray(0, 2), Uint8Array.of(0x01, 0x01));
  const v6 = encodeBindingSuccess(RFC_TXID, { address: '2001:db8:1234:5678:11:2233:4455:6677', port: 32853 });
  t.deepEqual(v6.subarray(20), RFC_IPV6_RESPONSE.subarray(36, 60));
  t.true(isStunMessage(v4) && isStunMessage(v6));
});

test("a Binding request is the 20-byte header alone, and the server reads its txid (also RFC 5769's request)", (t) => {
  const request = encodeBindingRequest(TXID);
  t.deepEqual(request, hex('0001 0000 2112a442 000102030405060708090a0b'));
  t.deepEqual(decodeBindingRequest(request), { ok: true, txid: TXID });
  t.deepEqual(decodeBindingRequest(RFC_REQUEST), { ok: true, txid: RFC_TXID });
  t.false(decodeBindingResponse(request).ok, 'a request is no response');
  t.false(decodeBindingRequest(RFC_IPV4_RESPONSE).ok, 'a response is no request');
  t.throws(() => encodeBindingRequest(new Uint8Array(11)), { instanceOf: RangeError });
});

test('MAPPED-ADDRESS is used when a server sends no XOR-MAPPED-ADDRESS, and loses to it when it does', (t) => {
  const plainOnly = stun(0x0101, TXID, [[0x0001, mappedV4([198, 51, 100, 7], 4242)]]);
  t.like(decodeBindingResponse(plainOnly), { ok: true, mapped: { address: '198.51.100.7', port: 4242 } });
  const xor = encodeBindingSuccess(TXID, { address: '203.0.113.9', port: 51820 }).subarray(20);
  const both = stun(0x0101, TXID, [
    [0x0001, mappedV4([198, 51, 100, 7], 4242)],
    [0x0020, xor.subarray(4)],
  ]);
  t.like(decodeBindingResponse(both), { ok: true, mapped: { address: '203.0.113.9', port: 51820 } });
});

test('an error response is refused with its code and the reason phrase', (t) => {
  const phrase = new TextEncoder().encode('Try Alternate');
  const error = stun(0x0111, TXID, [[0x0009, Uint8Array.of(0, 0, 3, 0, ...phrase)]]);
  t.deepEqual(decodeBindingResponse(error), { ok: false, reason: 'error response 300 (Try Alternate)' });
  const bare = stun(0x0111, TXID, [[0x0009, Uint8Array.of(0, 0, 4, 20)]]);
  t.deepEqual(decodeBindingResponse(bare), { ok: false, reason: 'error response 420' });
  t.regex((decodeBindingResponse(stun(0x0111, TXID)) as { reason: string }).reason, /^error response/);
});

test('an address after MESSAGE-INTEGRITY is ignored (RFC 8489 §14.5)', (t) => {
  const late = stun(0x0101, TXID, [
    [0x0008, new Uint8Array(20)],
    [0x0001, mappedV4([198, 51, 100, 7], 4242)],
  ]);
  t.deepEqual(decodeBindingResponse(late), { ok: false, reason: 'no mapped address in the response' });
});

test('malformed responses are refused with a reason', (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['no attributes', stun(0x0101, TXID), /no mapped address/],
    [
      'an unknown comprehension-required attribute',
      stun(0x0101, TXID, [[0x0042, new Uint8Array(4)]]),
      /0x0042/,
    ],
    ['family 3', stun(0x0101, TXID, [[0x0020, Uint8Array.of(0, 3, 0, 1, 1, 2, 3, 4)]]), /XOR-MAPPED/],
    [
      'IPv4 with 16 address bytes',
      stun(0x0101, TXID, [[0x0020, Uint8Array.of(0, 1, 0, 1, ...new Uint8Array(16))]]),
      /XOR-MAPPED/,
    ],
    ['port 0', stun(0x0101, TXID, [[0x0001, mappedV4([1, 2, 3, 4], 0)]]), /MAPPED-ADDRESS/],
    ['an indication', stun(0x0011, TXID), /type 0x0011/],
  ];
  for (const [name, message, reason] of cases) {
    const decoded = decodeBindingResponse(message);
    t.false(decoded.ok, name);
    if (!decoded.ok) t.regex(decoded.reason, reason, name);
  }
  // An attribute whose length runs past the message: the header's length still matches the datagram.
  const overrun = stun(0x0101, TXID, [[0x8022, new Uint8Array(4)]]);
  overrun[23] = 8;
  t.true(isStunMessage(overrun));
  t.deepEqual(decodeBindingResponse(overrun), { ok: false, reason: 'an attribute overruns the message' });
  t.false(
    decodeBindingRequest(stun(0x0001, TXID, [[0x8022, new Uint8Array(4)]]).map((b, i) => (i === 23 ? 9 : b)))
      .ok,
  );
});

test('isStunMessage refuses WireGuard, overlay messages, a bad cookie and a wrong length', (t) => {
  const initiation = new Uint8Array(148);
  initiation[0] = 1;
  t.false(isStunMessage(initiation));
  const sealed = RFC_IPV4_RESPONSE.slice();
  sealed[0] = 0x80;
  t.false(isStunMessage(sealed));
  const badCookie = RFC_IPV4_RESPONSE.slice();
  badCookie[7] = 0x43;
  t.false(isStunMessage(badCookie));
  t.false(isStunMessage(RFC_IPV4_RESPONSE.subarray(0, 76)), 'truncated');
  t.false(isStunMessage(Uint8Array.of(...RFC_IPV4_RESPONSE, 0, 0, 0, 0)), 'trailing bytes');
  t.false(isStunMessage(new Uint8Array(19)));
  const oddLength = stun(0x0101, TXID, [[0x8022, new Uint8Array(4)]]).subarray(0, 26);
  oddLength[3] = 6;
  t.false(isStunMessage(oddLength), 'a length that is not a multiple of 4');
});

const txidArb = fc.uint8Array({ minLength: 12, maxLength: 12 });
const octet = fc.integer({ min: 0, max: 255 });
const portArb = fc.integer({ min: 1, max: 65535 });
const ipv4Arb = fc.tuple(octet, octet, octet, octet).map((a) => a.join('.'));
const ipv6Arb = fc.ipV6().map((ip) => new URL(`http://[${ip}]/`).hostname.slice(1, -1));

test('every success response we encode decodes to its txid and address, IPv4 and IPv6', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(txidArb, fc.oneof(ipv4Arb, ipv6Arb), portArb, (txid, address, port) => {
        const decoded = decodeBindingResponse(encodeBindingSuccess(txid, { address, port }));
        return (
          decoded.ok &&
          Buffer.from(decoded.txid).equals(Buffer.from(txid)) &&
          decoded.mapped.address === address &&
          decoded.mapped.port === port
        );
      }),
      { numRuns: 2000 },
    ),
  );
});

/** STUN-shaped junk: a valid header with a chosen type and random attributes, or one with random framing. */
const stunShaped = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(0x0001, 0x0101, 0x0111, 0x0011),
      txidArb,
      fc.array(
        fc.tuple(
          fc.constantFrom(0x0001, 0x0020, 0x0009, 0x0008, 0x8028, 0x8022, 0x0042, 0xc001),
          fc.uint8Array({ maxLength: 40 }),
        ),
        { maxLength: 6 },
      ),
    )
    .map(([type, txid, attrs]) => stun(type, txid, attrs)),
  fc
    .tuple(fc.constantFrom(0x0001, 0x0101, 0x0111), txidArb, fc.integer({ min: 0, max: 60 }))
    .chain(([type, txid, words]) =>
      fc.uint8Array({ minLength: words * 4, maxLength: words * 4 }).map((body) => {
        const m = stun(type, txid);
        return Uint8Array.of(m[0]!, m[1]!, (words * 4) >> 8, (words * 4) & 0xff, ...m.subarray(4), ...body);
      }),
    ),
);

const mutatedVector = fc
  .tuple(
    fc.constantFrom(RFC_IPV4_RESPONSE, RFC_IPV6_RESPONSE, RFC_REQUEST),
    fc.array(fc.tuple(fc.nat(), octet), { minLength: 1, maxLength: 4 }),
  )
  .map(([vector, flips]) => {
    const m = vector.slice();
    for (const [at, value] of flips) m[20 + (at % (m.length - 20))] = value;
    return m;
  });

test('the decoders never throw, on random bytes, STUN-shaped junk or mutated RFC vectors', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), stunShaped, mutatedVector), (datagram) => {
        const response = decodeBindingResponse(datagram);
        const request = decodeBindingRequest(datagram);
        isStunMessage(datagram);
        if (response.ok && !(response.mapped.port >= 1 && response.txid.length === 12)) return false;
        return (response.ok || response.reason.length > 0) && (request.ok || request.reason.length > 0);
      }),
      { numRuns: 10_000 },
    ),
  );
});
