/** Ed25519 through OpenSSL: tweetnacl's keys and signatures, minus its malleability. */
import test from 'ava';
import nacl from 'tweetnacl';
import { keyPairFromSeed, publicKeyOf, signDetached, verifyDetached } from '../../core/membership/ed25519.js';

const seed = new Uint8Array(32).fill(42);
const message = new TextEncoder().encode('overlay');

test('keys and signatures are the same as tweetnacl makes', (t) => {
  const ours = keyPairFromSeed(seed);
  const theirs = nacl.sign.keyPair.fromSeed(seed);
  t.deepEqual(ours.publicKey, theirs.publicKey);
  t.deepEqual(ours.secretKey, theirs.secretKey);
  t.deepEqual(publicKeyOf(theirs.secretKey), theirs.publicKey);
  const sig = signDetached(message, theirs.secretKey);
  t.deepEqual(sig, nacl.sign.detached(message, theirs.secretKey));
  t.true(verifyDetached(message, sig, ours.publicKey));
});

test('a signature with S pushed past the group order is refused (RFC 8032 §5.1.7), though tweetnacl takes it', (t) => {
  const { publicKey, secretKey } = keyPairFromSeed(seed);
  const sig = signDetached(message, secretKey);
  const L = 2n ** 252n + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 31; i >= 0; i--) s = (s << 8n) | BigInt(sig[32 + i]!);
  s += L;
  const malleable = sig.slice();
  for (let i = 0; i < 32; i++) {
    malleable[32 + i] = Number(s & 0xffn);
    s >>= 8n;
  }
  t.true(nacl.sign.detached.verify(message, malleable, publicKey));
  t.false(verifyDetached(message, malleable, publicKey));
});

test('a secret key whose public half lies cannot sign for the key it claims', (t) => {
  const real = keyPairFromSeed(seed);
  const other = keyPairFromSeed(new Uint8Array(32).fill(1));
  const liar = real.secretKey.slice();
  liar.set(other.publicKey, 32);
  t.deepEqual(publicKeyOf(liar), real.publicKey);
  t.false(verifyDetached(message, signDetached(message, liar), other.publicKey));
});

test('verification of junk keys and signatures returns false and never throws', (t) => {
  const { publicKey, secretKey } = keyPairFromSeed(seed);
  const sig = signDetached(message, secretKey);
  t.false(verifyDetached(message, sig.subarray(1), publicKey));
  t.false(verifyDetached(message, sig, publicKey.subarray(1)));
  t.false(verifyDetached(message, sig, new Uint8Array(32).fill(0xff)));
  t.false(verifyDetached(message, new Uint8Array(64), publicKey));
});
