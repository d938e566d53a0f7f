import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import test from 'ava';
import fc from 'fast-check';
import {
  aeadOpen,
  aeadSeal,
  compareTimestamps,
  dh,
  hash,
  hmac,
  kdf1,
  kdf2,
  kdf3,
  mac,
  publicKeyOf,
  tai64n,
  xaeadOpen,
  xaeadSeal,
} from '../../core/wireguard/primitives.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill);

test('HASH is BLAKE2s-256 (RFC 7693 appendix B vector)', (t) => {
  t.deepEqual(
    hash(new TextEncoder().encode('abc')),
    hex('508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982'),
  );
});

test('MAC is keyed BLAKE2s with a 16-byte digest', (t) => {
  const key = bytes(32, 9);
  const input = bytes(50, 3);
  t.is(mac(key, input).length, 16);
  t.deepEqual(mac(key, input), blake2s(input, { key, dkLen: 16 }));
  t.notDeepEqual(mac(bytes(32, 8), input), mac(key, input));
});

test('KDF1/2/3 equal HKDF-BLAKE2s with the chaining key as salt and empty info', (t) => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ maxLength: 80 }),
      (key, input) => {
        const expected = hkdf(blake2s, input, key, new Uint8Array(0), 96);
        const [a1] = [kdf1(key, input)];
        const [b1, b2] = kdf2(key, input);
        const [c1, c2, c3] = kdf3(key, input);
        const e = (i: number) => Buffer.from(expected.subarray(i * 32, i * 32 + 32));
        return (
          e(0).equals(a1) &&
          e(0).equals(b1) &&
          e(1).equals(b2) &&
          e(0).equals(c1) &&
          e(1).equals(c2) &&
          e(2).equals(c3)
        );
      },
    ),
    { numRuns: 50 },
  );
  t.is(hmac(bytes(32, 1), bytes(4, 2)).length, 32);
});

test('DH is X25519 (RFC 7748 §6.1 vectors) and refuses low-order points', (t) => {
  const alice = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
  const bob = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  t.deepEqual(publicKeyOf(alice), hex('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'));
  t.deepEqual(publicKeyOf(bob), hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'));
  const shared = hex('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
  t.deepEqual(dh(alice, publicKeyOf(bob)), shared);
  t.deepEqual(dh(bob, publicKeyOf(alice)), shared);
  t.is(dh(alice, new Uint8Array(32)), null, 'the all-zero point gives an all-zero secret');
  t.is(dh(alice, Uint8Array.of(1, ...new Uint8Array(31))), null, 'so does the point of order 1');
});

test('AEAD is ChaCha20-Poly1305 with a 4-zero-byte + little-endian counter nonce', (t) => {
  const key = bytes(32, 0x42);
  const counter = 0x0102030405060708n;
  const nonce = hex('000000000807060504030201');
  const plain = new TextEncoder().encode('transport payload');
  const ad = bytes(5, 1);
  const sealed = aeadSeal(key, counter, plain, ad);
  t.deepEqual(sealed, chacha20poly1305(key, nonce, ad).encrypt(plain));
  t.deepEqual(aeadOpen(key, counter, sealed, ad), plain);
  t.is(aeadOpen(key, counter + 1n, sealed, ad), null);
  t.is(aeadOpen(key, counter, sealed, bytes(5, 2)), null);
  t.is(aeadOpen(key, counter, sealed.subarray(0, 15), ad), null);
});

test('XAEAD round-trips and rejects the wrong associated data', (t) => {
  const key = bytes(32, 7);
  const nonce = bytes(24, 1);
  const sealed = xaeadSeal(key, nonce, bytes(16, 5), bytes(16, 6));
  t.is(sealed.length, 32);
  t.deepEqual(xaeadOpen(key, nonce, sealed, bytes(16, 6)), bytes(16, 5));
  t.is(xaeadOpen(key, nonce, sealed, bytes(16, 7)), null);
});

test('TAI64N: 2^62 + 10 + Unix seconds big-endian, then nanoseconds; ordered like time', (t) => {
  const ts = tai64n(Date.UTC(2025, 0, 1) + 500);
  const dv = new DataView(ts.buffer);
  t.is(dv.getBigUint64(0), (1n << 62n) + 10n + BigInt(Date.UTC(2025, 0, 1) / 1000));
  t.true(dv.getUint32(8) <= 500_000_000 && dv.getUint32(8) > 480_000_000);
  fc.assert(
    fc.property(fc.nat(2 ** 40), fc.integer({ min: 20, max: 2 ** 30 }), (ms, later) => {
      return compareTimestamps(tai64n(ms), tai64n(ms + later)) < 0;
    }),
  );
});
