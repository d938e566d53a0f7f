/** Inner messages and clear join messages: what we encode decodes; junk is a typed failure, never a throw. */
import test from 'ava';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  INNER_JOIN_REJECT,
  MAX_DATAGRAM,
  MAX_ENDPOINT_LENGTH,
  MAX_ENDPOINTS,
  MAX_INVITE_ID_LENGTH,
  MAX_NAME_BYTES,
  TYPE_SEALED,
} from '../../core/overlayWire/constants.js';
import {
  decodeInnerMessage,
  encodeInnerMessage,
  type InnerMessage,
  JOIN_REJECT_REASONS,
  MAX_ACCEPT_BYTES,
} from '../../core/overlayWire/innerMessage.js';
import {
  encodeJoinQuery,
  encodeJoinQueryReply,
  parseJoinQuery,
  parseJoinQueryReply,
} from '../../core/overlayWire/joinQuery.js';
import { SealedChannel } from '../../core/overlayWire/sealed.js';

const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
const asciiText = (max: number) =>
  fc.string({
    unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.:[]-'),
    minLength: 1,
    maxLength: max,
  });
const inviteId = fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: 1, maxLength: 32 });

const innerMessage: fc.Arbitrary<InnerMessage> = fc.oneof(
  fc.record({ kind: fc.constant('gossip' as const), body: fc.uint8Array({ minLength: 1, maxLength: 1190 }) }),
  fc.record({
    kind: fc.constant('joinRequest' as const),
    requestId: bytes(16),
    inviteId,
    secret: bytes(16),
    name: fc.string({ minLength: 1, maxLength: 20 }),
    signingPublicKey: bytes(32),
    listenPort: fc.integer({ min: 0, max: 65535 }),
    endpoints: fc.array(asciiText(64), { maxLength: 8 }),
    signature: bytes(64),
  }),
  fc.record({
    kind: fc.constant('joinAccept' as const),
    requestId: bytes(16),
    accept: fc.uint8Array({ maxLength: MAX_ACCEPT_BYTES }),
  }),
  fc.record({
    kind: fc.constant('joinReject' as const),
    requestId: bytes(16),
    reason: fc.constantFrom(...JOIN_REJECT_REASONS),
    detail: fc.string({ maxLength: 40 }),
  }),
);

test('every inner message we can build decodes to itself', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(innerMessage, (m) => {
        const decoded = decodeInnerMessage(encodeInnerMessage(m));
        return decoded.ok && JSON.stringify(decoded.message) === JSON.stringify(m);
      }),
    ),
  );
});

test('decoding junk never throws and always says why it failed', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 1400 }), (junk) => {
      const decoded = decodeInnerMessage(junk);
      return decoded.ok || decoded.reason === 'malformed' || decoded.reason === 'unknownKind';
    }),
  );
  t.is(decodeInnerMessage(new Uint8Array(0)).ok, false);
});

test('a truncated or extended message is malformed, not misread', (t) => {
  fc.assert(
    fc.property(
      innerMessage.filter((m) => m.kind !== 'gossip'),
      fc.nat(),
      (m, cut) => {
        const encoded = encodeInnerMessage(m);
        const short = encoded.subarray(0, cut % encoded.length);
        const long = new Uint8Array([...encoded, 0]);
        return !decodeInnerMessage(short).ok && !decodeInnerMessage(long).ok;
      },
    ),
  );
  t.pass('property held');
});

test('opening random sealed-looking datagrams never throws and never succeeds', (t) => {
  const keys = nacl.box.keyPair();
  const channel = new SealedChannel({ privateKey: keys.secretKey, publicKey: keys.publicKey });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: MAX_DATAGRAM + 10 }), (junk) => {
        const datagram = new Uint8Array([TYPE_SEALED, ...junk]);
        return !channel.open(datagram, 1_750_000_000_000).ok;
      }),
      { numRuns: 200 },
    ),
  );
});

test('join queries and replies round-trip, and junk parses to a typed failure', (t) => {
  fc.assert(
    fc.property(inviteId, bytes(32), (id, key) => {
      const q = parseJoinQuery(encodeJoinQuery(id));
      const r = parseJoinQueryReply(encodeJoinQueryReply(id, key));
      return (
        q.ok &&
        q.inviteId === id &&
        r.ok &&
        r.inviteId === id &&
        Buffer.compare(r.inviterPublicKey, key) === 0
      );
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (junk) => {
      const q = parseJoinQuery(junk);
      const r = parseJoinQueryReply(junk);
      return (q.ok || typeof q.reason === 'string') && (r.ok || typeof r.reason === 'string');
    }),
  );
  t.true(encodeJoinQuery('ab').length > encodeJoinQueryReply('ab', new Uint8Array(32)).length);
});

test('the largest signed join request still fits one 1280-byte datagram', (t) => {
  const keys = nacl.box.keyPair();
  const channel = new SealedChannel({ privateKey: keys.secretKey, publicKey: keys.publicKey });
  const sealed = channel.seal(
    nacl.box.keyPair().publicKey,
    {
      kind: 'joinRequest',
      requestId: new Uint8Array(16),
      inviteId: 'f'.repeat(MAX_INVITE_ID_LENGTH),
      secret: new Uint8Array(16),
      name: 'n'.repeat(MAX_NAME_BYTES),
      signingPublicKey: new Uint8Array(32),
      listenPort: 65535,
      endpoints: Array.from({ length: MAX_ENDPOINTS }, () => 'e'.repeat(MAX_ENDPOINT_LENGTH)),
      signature: new Uint8Array(64),
    },
    1_750_000_000_000,
  );
  t.true(sealed.length <= MAX_DATAGRAM, `${sealed.length} bytes`);
});

test('reject reasons keep their numbers; one this version does not know decodes as other', (t) => {
  // Appended only: an older joiner reads the first seven as it always did.
  t.deepEqual(JOIN_REJECT_REASONS.slice(0, 7), [
    'used',
    'expired',
    'revoked',
    'unknown',
    'name-taken',
    'bad-secret',
    'other',
  ]);
  const unknown = new Uint8Array([INNER_JOIN_REJECT, ...new Uint8Array(16), 200, 0]);
  const decoded = decodeInnerMessage(unknown);
  t.like(decoded, { ok: true, message: { kind: 'joinReject', reason: 'other' } });
});
