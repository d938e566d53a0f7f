/**
 * The native transport AEAD (OpenSSL, used by the data path threads) must produce exactly what the
 * TypeScript reference in core/wireguard produces, which is itself checked against wireguard-go.
 */
import test from 'ava';
import fc from 'fast-check';
import { testing } from 'tun-napi';
import { aeadOpen, aeadSeal } from '../../core/wireguard/primitives.js';

const EMPTY = new Uint8Array(0);
const MAX_COUNTER = 2n ** 64n - 1n;

test('property: native seal equals the TypeScript reference, and each opens the other', (t) => {
  const check = () =>
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.bigInt({ min: 0n, max: MAX_COUNTER }),
        fc.uint8Array({ maxLength: 1500 }),
        (key, counter, plain) => {
          const native = testing.seal(key, counter, plain);
          const reference = aeadSeal(key, counter, plain, EMPTY);
          if (!Buffer.from(native).equals(Buffer.from(reference))) return false;
          const opened = testing.open(key, counter, reference);
          const back = aeadOpen(key, counter, native, EMPTY);
          return (
            opened !== null &&
            back !== null &&
            opened.equals(Buffer.from(plain)) &&
            Buffer.from(back).equals(opened)
          );
        },
      ),
      { numRuns: 200 },
    );
  t.notThrows(check);
});

test('a flipped bit, a wrong counter or a wrong key does not open', (t) => {
  const key = new Uint8Array(32).fill(9);
  const sealed = testing.seal(key, 7n, Buffer.from('overlay'));
  t.truthy(testing.open(key, 7n, sealed));
  for (let i = 0; i < sealed.length; i++) {
    const bad = Buffer.from(sealed);
    bad[i]! ^= 1;
    t.is(testing.open(key, 7n, bad), null, `bit flip at byte ${i}`);
  }
  t.is(testing.open(key, 8n, sealed), null);
  t.is(testing.open(new Uint8Array(32), 7n, sealed), null);
  t.is(testing.open(key, 7n, sealed.subarray(0, 15)), null);
});
