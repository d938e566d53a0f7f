/** Discovery messages: what we encode decodes to itself; junk and oversized fields are typed failures, never throws. */
import test from 'ava';
import fc from 'fast-check';
import {
  KIND_BIRTHDAY,
  KIND_CALL_ME_MAYBE,
  KIND_INTRODUCE,
  KIND_PING,
  MAX_DISCOVERY_MESSAGE,
} from '../../core/discovery/constants.js';
import { isCandidate } from '../../core/discovery/endpointClass.js';
import { type DiscoveryMessage, decodeDiscovery, encodeDiscovery } from '../../core/discovery/messages.js';
import type { MappingProtocol, NatBehaviour } from '../../core/discovery/natBehaviour.js';
import { INNER_DISCOVERY_FIRST, INNER_DISCOVERY_LAST } from '../../core/overlayWire/constants.js';
import { ep, eps, epText } from '../helpers/endpoints.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const octet = fc.integer({ min: 0, max: 255 });
const port = fc.integer({ min: 1, max: 65535 });
const v4 = fc.tuple(octet, octet, octet, octet, port).map(([a, b, c, d, p]) => `${a}.${b}.${c}.${d}:${p}`);
const v6 = fc
  .tuple(fc.ipV6(), port)
  .map(([ip, p]) => `[${new URL(`http://[${ip}]/`).hostname.slice(1, -1)}]:${p}`);
const endpoint = fc
  .oneof(v4, v6)
  .filter((e) => e.length <= 64)
  .map(ep);
const candidates = fc.uniqueArray(endpoint, { maxLength: 8, selector: epText });

const message: fc.Arbitrary<DiscoveryMessage> = fc.oneof(
  fc.record({ kind: fc.constant('ping' as const), txid: bytes(12) }),
  fc.record({ kind: fc.constant('ping' as const), txid: bytes(12), fromHint: endpoint }),
  fc.record({ kind: fc.constant('pong' as const), txid: bytes(12) }),
  fc.record({ kind: fc.constant('pong' as const), txid: bytes(12), observed: endpoint }),
  fc.record(
    {
      kind: fc.constant('pong' as const),
      txid: bytes(12),
      observed: endpoint,
      heldUs: fc.integer({ min: 0, max: 0xffff_fffe }),
      nat: fc.record({
        mapping: fc.constantFrom<NatBehaviour>(
          'unknown',
          'none',
          'endpoint-independent',
          'endpoint-dependent',
        ),
        portKept: fc.constantFrom<boolean | null>(null, true, false),
        portMapping: fc.constantFrom<MappingProtocol | null>(null, 'pcp', 'nat-pmp', 'upnp'),
      }),
    },
    { requiredKeys: ['kind', 'txid', 'nat'] },
  ),
  fc.record({ kind: fc.constant('callMeMaybe' as const), candidates }),
  fc.record({ kind: fc.constant('introduceRequest' as const), peer: bytes(32) }),
  fc.record({ kind: fc.constant('introduce' as const), peer: bytes(32), candidates }),
  fc.record({
    kind: fc.constant('birthday' as const),
    step: fc.constantFrom('hard' as const, 'ready' as const, 'open' as const),
  }),
);

test('every discovery message we can build decodes to itself', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(message, (m) => {
        const decoded = decodeDiscovery(encodeDiscovery(m));
        return decoded.ok && JSON.stringify(decoded.message) === JSON.stringify(m);
      }),
    ),
  );
});

test('every encoding starts with an inner kind reserved for discovery and fits the bound', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(message, (m) => {
        const encoded = encodeDiscovery(m);
        return (
          encoded[0]! >= INNER_DISCOVERY_FIRST &&
          encoded[0]! <= INNER_DISCOVERY_LAST &&
          encoded.length <= MAX_DISCOVERY_MESSAGE
        );
      }),
    ),
  );
});

test('decoding random bytes never throws and anything it accepts re-encodes to the same bytes', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1600 }), (junk) => {
        const decoded = decodeDiscovery(junk);
        if (!decoded.ok) return decoded.reason === 'malformed' || decoded.reason === 'unknownKind';
        return Buffer.from(encodeDiscovery(decoded.message)).equals(Buffer.from(junk));
      }),
      { numRuns: 5000 },
    ),
  );
});

test('random bytes behind each known kind byte never throw either', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: KIND_PING, max: KIND_INTRODUCE }),
        fc.uint8Array({ maxLength: 200 }),
        (kind, rest) => {
          const decoded = decodeDiscovery(Uint8Array.of(kind, ...rest));
          return decoded.ok || decoded.reason === 'malformed';
        },
      ),
      { numRuns: 5000 },
    ),
  );
});

test('a truncated or extended valid message is refused', (t) => {
  const m = encodeDiscovery({ kind: 'pong', txid: new Uint8Array(12), observed: ep('192.0.2.1:51820') });
  for (let cut = 0; cut < m.length; cut++) t.false(decodeDiscovery(m.subarray(0, cut)).ok);
  t.false(decodeDiscovery(Uint8Array.of(...m, 0)).ok);
});

test('the retired relay kinds are unknown: no member can ask discovery to forward a datagram', (t) => {
  // 0x25 `relay` and 0x26 `relayed`, as they were encoded: [kind][key 32][u16 length][datagram].
  for (const kind of [0x25, 0x26]) {
    const raw = Uint8Array.of(kind, ...new Uint8Array(32), 0, 4, 0x80, 1, 2, 3);
    t.deepEqual(decodeDiscovery(raw), { ok: false, reason: 'unknownKind' });
  }
});

test('more than 8 candidates, a duplicate, or a non-canonical endpoint is refused', (t) => {
  const nine = Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}:51820`);
  t.throws(() => encodeDiscovery({ kind: 'callMeMaybe', candidates: eps(nine) }));
  // An Endpoint built by hand, not parsed, in another spelling or out of range: never sent.
  for (const bad of [
    { address: 'FD00::1', port: 1 },
    { address: '192.0.2.1', port: 0 },
    { address: '192.0.2.1', port: 65536 },
  ])
    t.throws(
      () => encodeDiscovery({ kind: 'callMeMaybe', candidates: [bad] }),
      undefined,
      JSON.stringify(bad),
    );
  t.throws(() => encodeDiscovery({ kind: 'callMeMaybe', candidates: eps(['192.0.2.1:1', '192.0.2.1:1']) }));
  for (const bad of [
    '192.0.2.1:051820',
    '999.0.2.1:1',
    '192.0.2.1:0',
    '[FD00::1]:1',
    'host:1',
    '192.0.2.1',
  ]) {
    t.false(isCandidate(bad), bad);
    const raw = Uint8Array.of(KIND_PING, ...new Uint8Array(12), bad.length, ...Buffer.from(bad));
    t.deepEqual(decodeDiscovery(raw), { ok: false, reason: 'malformed' }, bad);
    // In a list of candidates too: the whole message is malformed, never a throw, never half taken.
    const list = Uint8Array.of(
      KIND_CALL_ME_MAYBE,
      2,
      11,
      ...Buffer.from('192.0.2.1:1'),
      bad.length,
      ...Buffer.from(bad),
    );
    t.deepEqual(decodeDiscovery(list), { ok: false, reason: 'malformed' }, bad);
  }
});

test('an unknown kind is reported as such, so a newer peer is not called malformed', (t) => {
  t.deepEqual(decodeDiscovery(Uint8Array.of(0x3f, 1, 2, 3)), { ok: false, reason: 'unknownKind' });
  t.deepEqual(decodeDiscovery(new Uint8Array(0)), { ok: false, reason: 'malformed' });
});

test('a birthday step outside the three decodes as malformed, and a missing one too', (t) => {
  for (const bytes of [[KIND_BIRTHDAY], [KIND_BIRTHDAY, 0], [KIND_BIRTHDAY, 4], [KIND_BIRTHDAY, 1, 0]]) {
    t.deepEqual(decodeDiscovery(Uint8Array.from(bytes)), { ok: false, reason: 'malformed' }, `${bytes}`);
  }
  t.deepEqual(decodeDiscovery(Uint8Array.from([KIND_BIRTHDAY, 2])), {
    ok: true,
    message: { kind: 'birthday', step: 'ready' },
  });
});

test('a pong says how long its sender held the ping and what it knows of its NAT; an older pong still decodes', (t) => {
  const txid = new Uint8Array(12).fill(7);
  const timed = encodeDiscovery({
    kind: 'pong',
    txid,
    heldUs: 1234,
    nat: { mapping: 'endpoint-dependent', portKept: false, portMapping: 'upnp' },
  });
  t.deepEqual(decodeDiscovery(timed), {
    ok: true,
    message: {
      kind: 'pong',
      txid,
      heldUs: 1234,
      nat: { mapping: 'endpoint-dependent', portKept: false, portMapping: 'upnp' },
    },
  });
  t.deepEqual(decodeDiscovery(encodeDiscovery({ kind: 'pong', txid })), {
    ok: true,
    message: { kind: 'pong', txid },
  });
  // A NAT byte no version writes (bits 6-7, or port kept = 3) is malformed, not a guess.
  for (const bad of [0x40, 0x0c]) t.false(decodeDiscovery(Uint8Array.of(...timed.subarray(0, -1), bad)).ok);
  t.throws(() => encodeDiscovery({ kind: 'pong', txid, heldUs: -1 }));
});
