/**
 * Known-answer tests: fixed keys, index and timestamp must give exactly the bytes an independent,
 * straight-line transcription of whitepaper §5.4.2–§5.4.5 gives. The transcription below uses other
 * implementations (@noble BLAKE2s/HMAC/ChaCha20-Poly1305) than core/wireguard does (OpenSSL), so a
 * shared bug is unlikely; interop-handshake.test.ts checks the same against wireguard-go.
 */

import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { blake2s } from '@noble/hashes/blake2.js';
import { hmac } from '@noble/hashes/hmac.js';
import test from 'ava';
import nacl from 'tweetnacl';
import { CookieJar } from '../../core/wireguard/cookie.js';
import { parseInitiation, parseResponse } from '../../core/wireguard/messages.js';
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
} from '../../core/wireguard/noise.js';
import { clamp, type KeyPair, publicKeyOf, tai64n } from '../../core/wireguard/primitives.js';

const enc = new TextEncoder();
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const H = (...p: Uint8Array[]) => blake2s(cat(...p));
const HMAC = (k: Uint8Array, ...p: Uint8Array[]) => hmac(blake2s, k, cat(...p));
/** KDFn's outputs are prefixes of one another, so compute three and let callers take n. */
function KDF(key: Uint8Array, input: Uint8Array): [Uint8Array, Uint8Array, Uint8Array] {
  const t0 = HMAC(key, input);
  const t1 = HMAC(t0, Uint8Array.of(1));
  const t2 = HMAC(t0, t1, Uint8Array.of(2));
  return [t1, t2, HMAC(t0, t2, Uint8Array.of(3))];
}
const AEAD = (k: Uint8Array, counter: number, plain: Uint8Array, ad: Uint8Array) => {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setBigUint64(4, BigInt(counter), true);
  return chacha20poly1305(k, nonce, ad).encrypt(plain);
};
const DH = (priv: Uint8Array, pub: Uint8Array) => nacl.scalarMult(priv, pub);
const le32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
};

function fixedKey(seed: number): KeyPair {
  const privateKey = new Uint8Array(32).map((_, i) => (seed * 31 + i * 7) & 0xff);
  clamp(privateKey);
  return { privateKey, publicKey: publicKeyOf(privateKey) };
}

const initiatorStatic = fixedKey(1);
const responderStatic = fixedKey(2);
const initiatorEphemeral = fixedKey(3);
const responderEphemeral = fixedKey(4);
const psk = new Uint8Array(32).fill(0x5a);
const timestamp = tai64n(Date.UTC(2025, 5, 1, 12));
const I_INDEX = 0x11223344;
const R_INDEX = 0x55667788;

/** whitepaper §5.4.2–§5.4.5, transcribed line by line. */
function straightLine(q: Uint8Array) {
  let C: Uint8Array = H(enc.encode('Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s'));
  let Hh: Uint8Array = H(C, enc.encode('WireGuard v1 zx2c4 Jason@zx2c4.com'));
  Hh = H(Hh, responderStatic.publicKey);
  [C] = KDF(C, initiatorEphemeral.publicKey);
  Hh = H(Hh, initiatorEphemeral.publicKey);
  let k: Uint8Array;
  [C, k] = KDF(C, DH(initiatorEphemeral.privateKey, responderStatic.publicKey));
  const msgStatic = AEAD(k, 0, initiatorStatic.publicKey, Hh);
  Hh = H(Hh, msgStatic);
  [C, k] = KDF(C, DH(initiatorStatic.privateKey, responderStatic.publicKey));
  const msgTimestamp = AEAD(k, 0, timestamp, Hh);
  Hh = H(Hh, msgTimestamp);
  const alpha1 = cat(
    Uint8Array.of(1, 0, 0, 0),
    le32(I_INDEX),
    initiatorEphemeral.publicKey,
    msgStatic,
    msgTimestamp,
  );
  const mac1 = blake2s(alpha1, { key: H(enc.encode('mac1----'), responderStatic.publicKey), dkLen: 16 });
  const initiation = cat(alpha1, mac1, new Uint8Array(16));

  [C] = KDF(C, responderEphemeral.publicKey);
  Hh = H(Hh, responderEphemeral.publicKey);
  [C] = KDF(C, DH(responderEphemeral.privateKey, initiatorEphemeral.publicKey));
  [C] = KDF(C, DH(responderEphemeral.privateKey, initiatorStatic.publicKey));
  const [C3, tau, k3] = KDF(C, q);
  C = C3;
  k = k3;
  Hh = H(Hh, tau);
  const msgEmpty = AEAD(k, 0, new Uint8Array(0), Hh);
  const alpha2 = cat(
    Uint8Array.of(2, 0, 0, 0),
    le32(R_INDEX),
    le32(I_INDEX),
    responderEphemeral.publicKey,
    msgEmpty,
  );
  const mac1r = blake2s(alpha2, { key: H(enc.encode('mac1----'), initiatorStatic.publicKey), dkLen: 16 });
  const response = cat(alpha2, mac1r, new Uint8Array(16));
  const [initiatorSend, initiatorReceive] = KDF(C, new Uint8Array(0));
  return { initiation, response, initiatorSend, initiatorReceive };
}

for (const withPsk of [false, true]) {
  const label = withPsk ? 'with a preshared key' : 'without a preshared key';
  test(`initiation, response and transport keys match the whitepaper transcription ${label}`, (t) => {
    const q = withPsk ? psk : new Uint8Array(32);
    const expected = straightLine(q);

    const created = createInitiation({
      local: initiatorStatic,
      remoteStatic: responderStatic.publicKey,
      localIndex: I_INDEX,
      ephemeral: {
        privateKey: initiatorEphemeral.privateKey.slice(),
        publicKey: initiatorEphemeral.publicKey,
      },
      timestamp,
    })!;
    new CookieJar(responderStatic.publicKey).stamp(created.message, 0);
    t.is(created.message.length, 148);
    t.deepEqual(created.message, expected.initiation);

    const parsed = parseInitiation(created.message);
    if (!parsed.ok) return t.fail(parsed.reason);
    const consumed = consumeInitiation(responderStatic, parsed.value);
    if (!consumed.ok) return t.fail(consumed.reason);
    t.deepEqual(consumed.value.remoteStatic, initiatorStatic.publicKey);
    t.deepEqual(consumed.value.timestamp, timestamp);

    const response = createResponse(consumed.value, {
      localIndex: R_INDEX,
      ephemeral: {
        privateKey: responderEphemeral.privateKey.slice(),
        publicKey: responderEphemeral.publicKey,
      },
      presharedKey: withPsk ? psk : undefined,
    })!;
    new CookieJar(initiatorStatic.publicKey).stamp(response.message, 0);
    t.is(response.message.length, 92);
    t.deepEqual(response.message, expected.response);
    t.deepEqual(response.keys.receiveKey, expected.initiatorSend);
    t.deepEqual(response.keys.sendKey, expected.initiatorReceive);

    const parsedResponse = parseResponse(response.message);
    if (!parsedResponse.ok) return t.fail(parsedResponse.reason);
    const done = consumeResponse(
      created.handshake,
      initiatorStatic,
      parsedResponse.value,
      withPsk ? psk : undefined,
    );
    if (!done.ok) return t.fail(done.reason);
    t.is(done.value.remoteIndex, R_INDEX);
    t.deepEqual(done.value.keys.sendKey, expected.initiatorSend);
    t.deepEqual(done.value.keys.receiveKey, expected.initiatorReceive);
    // whitepaper §5.4.5: handshake secrets are erased once the transport keys exist.
    t.deepEqual(created.handshake.chainingKey, new Uint8Array(32));
    t.deepEqual(created.handshake.ephemeralPrivate, new Uint8Array(32));
  });
}

test('a bit flipped anywhere in the encrypted static or timestamp makes consumeInitiation fail', (t) => {
  const created = createInitiation({
    local: initiatorStatic,
    remoteStatic: responderStatic.publicKey,
    localIndex: I_INDEX,
    ephemeral: fixedKey(3),
    timestamp,
  })!;
  for (let i = 40; i < 116; i++) {
    const bad = created.message.slice();
    bad[i]! ^= 0x80;
    const parsed = parseInitiation(bad);
    if (!parsed.ok) return t.fail();
    t.deepEqual(consumeInitiation(responderStatic, parsed.value), { ok: false, reason: 'decryptFailed' });
  }
});

test('an initiation meant for another responder does not decrypt', (t) => {
  const created = createInitiation({
    local: initiatorStatic,
    remoteStatic: responderStatic.publicKey,
    localIndex: I_INDEX,
    ephemeral: fixedKey(3),
    timestamp,
  })!;
  const parsed = parseInitiation(created.message);
  if (!parsed.ok) return t.fail();
  t.deepEqual(consumeInitiation(fixedKey(9), parsed.value), { ok: false, reason: 'decryptFailed' });
});
