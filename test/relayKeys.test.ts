import test from 'ava';
import { relayPairSecret, relayTag } from '../core/node/relayKeys.js';
import { generateKeyPair } from '../core/wireguard/primitives.js';

test('both members of a pair derive the same relay secret, and another pair a different one', (t) => {
  const [a, b, c] = [generateKeyPair(), generateKeyPair(), generateKeyPair()];
  const ab = relayPairSecret(a.privateKey, b.publicKey)!;
  t.is(ab.length, 32);
  t.deepEqual(ab, relayPairSecret(b.privateKey, a.publicKey)!);
  t.notDeepEqual(ab, relayPairSecret(a.privateKey, c.publicKey)!);
});

test("a member's relay tag is 8 bytes, the same wherever it is computed, and differs between members", (t) => {
  const [a, b] = [generateKeyPair(), generateKeyPair()];
  t.is(relayTag(a.publicKey).length, 8);
  t.deepEqual(relayTag(a.publicKey), relayTag(a.publicKey.slice()));
  t.notDeepEqual(relayTag(a.publicKey), relayTag(b.publicKey));
});

test('a low-order public key gives no relay secret', (t) => {
  t.is(relayPairSecret(generateKeyPair().privateKey, new Uint8Array(32)), null);
});
