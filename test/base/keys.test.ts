import test from 'ava';
import { bytesEqual, compareBytes, fromBase64, hex, toBase64 } from '../../core/base/bytes.js';
import { encodeKey, KEY_SIZE, parseKey, parsePeerId, peerId, peerKey } from '../../core/base/keys.js';

const KEY = Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1);

test('a peer id is the key in WireGuard text form and gives the same bytes back', (t) => {
  const id = peerId(KEY);
  t.is(id.length, 44);
  t.is<string, string>(id, Buffer.from(KEY).toString('base64'));
  t.is<string, string>(id, encodeKey(KEY), 'one encoding for peer ids and key text');
  t.deepEqual(peerKey(id), KEY);
  t.is(parsePeerId(id), id);
  t.deepEqual(parseKey(id), KEY);
});

test('a peer id of a key subarray encodes only the key bytes', (t) => {
  const framed = new Uint8Array(40);
  framed.set(KEY, 4);
  t.is(peerId(framed.subarray(4, 36)), peerId(KEY));
});

test('peerId refuses a key of the wrong length', (t) => {
  t.throws(() => peerId(new Uint8Array(31)), { instanceOf: RangeError });
  t.throws(() => peerId(new Uint8Array(33)), { instanceOf: RangeError });
});

test('untrusted key text of the wrong length, alphabet or spelling is refused', (t) => {
  const id = peerId(KEY);
  for (const bad of [
    '',
    'not a key',
    toBase64(new Uint8Array(31)),
    toBase64(new Uint8Array(33)),
    `${id} `,
    ` ${id}`,
    id.slice(0, 43),
    id.replace('=', ''),
    `${id.slice(0, 10)}-${id.slice(11)}`,
    // The same 32 bytes under a non-canonical last character: Buffer would decode it.
    `${id.slice(0, 42)}${String.fromCharCode(id.charCodeAt(42) + 1)}=`,
  ]) {
    t.is(parsePeerId(bad), undefined, JSON.stringify(bad));
    t.is(parseKey(bad), undefined, JSON.stringify(bad));
  }
  t.is(parsePeerId(42 as unknown as string), undefined);
});

test('parseKey takes other key lengths when asked', (t) => {
  const seed = new Uint8Array(64).fill(9);
  t.deepEqual(parseKey(toBase64(seed), 64), seed);
  t.is(parseKey(toBase64(seed)), undefined, 'the default length is 32');
  t.is(KEY_SIZE, 32);
});

test('base64 round-trips any bytes and refuses junk', (t) => {
  for (const n of [0, 1, 2, 3, 31, 32, 33]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => 255 - i);
    t.deepEqual(fromBase64(toBase64(bytes)), bytes);
  }
  t.is(fromBase64('AAAA!'), undefined);
  t.is(fromBase64('AB=='), undefined, 'non-zero padding bits');
  t.is(fromBase64('A'), undefined);
});

test('bytesEqual, compareBytes and hex', (t) => {
  t.true(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)));
  t.false(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 3)));
  t.false(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0)));
  t.true(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3)) < 0);
  t.true(compareBytes(Uint8Array.of(1, 2, 0), Uint8Array.of(1, 2)) > 0);
  t.is(compareBytes(Uint8Array.of(5), Uint8Array.of(5)), 0);
  const framed = Uint8Array.of(0, 0xab, 0x01, 0);
  t.is(hex(framed.subarray(1, 3)), 'ab01');
});
