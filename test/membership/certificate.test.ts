/** Certificates, revocations and endpoint records: canonical bytes, strict decoding, signatures. */
import test from 'ava';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  type Certificate,
  decodeCertificate,
  encodeCertificate,
  signCertificate,
  type UnsignedCertificate,
  verifyCertificate,
} from '../../core/membership/certificate.js';
import {
  decodeEndpointRecord,
  encodeEndpointRecord,
  signEndpointRecord,
  verifyEndpointRecord,
} from '../../core/membership/endpointRecord.js';
import {
  decodeRevocation,
  encodeRevocation,
  signRevocation,
  verifyRevocation,
} from '../../core/membership/revocation.js';
import { NOW, YEAR } from './fixtures.js';

const networkKey = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(7));
const member = nacl.sign.keyPair.fromSeed(new Uint8Array(32).fill(9));

const fields: UnsignedCertificate = {
  kind: 'member',
  networkKey: networkKey.publicKey,
  name: 'a-very-long-member-name-that-uses-all-sixty-three-characters-ok',
  ipv4: '100.80.1.2',
  ipv6: 'fd12:3456:789a::6450:102',
  wireguardKey: new Uint8Array(32).fill(3),
  signingKey: member.publicKey,
  via: null,
  admin: true,
  issuedAt: NOW,
  notAfter: NOW + YEAR,
};

function flipEveryBit(bytes: Uint8Array, accepts: (b: Uint8Array) => boolean): number {
  let accepted = 0;
  for (let i = 0; i < bytes.length * 8; i++) {
    const copy = bytes.slice();
    copy[i >> 3]! ^= 1 << (i & 7);
    if (accepts(copy)) accepted++;
  }
  return accepted;
}

test('a certificate survives encode/decode unchanged and verifies', (t) => {
  const cert = signCertificate(fields, networkKey.secretKey);
  const bytes = encodeCertificate(cert);
  const back = decodeCertificate(bytes);
  if (!back.ok) return t.fail(back.reason);
  t.deepEqual(back.value, cert);
  t.true(verifyCertificate(back.value));
  t.deepEqual(encodeCertificate(back.value), bytes);
  t.deepEqual(cert.issuer, networkKey.publicKey);
});

test('an encoded certificate with the longest name stays well under 1000 bytes', (t) => {
  const bytes = encodeCertificate(signCertificate(fields, networkKey.secretKey));
  t.true(bytes.length <= 300, `${bytes.length} bytes`);
});

test('flipping any single bit of a certificate makes it fail decoding or verification', (t) => {
  const bytes = encodeCertificate(signCertificate(fields, networkKey.secretKey));
  const accepted = flipEveryBit(bytes, (b) => {
    const d = decodeCertificate(b);
    return d.ok && verifyCertificate(d.value);
  });
  t.is(accepted, 0);
});

test('a wireguard-device certificate carries via instead of a signing key and cannot be admin', (t) => {
  const device: UnsignedCertificate = {
    ...fields,
    kind: 'wireguard',
    signingKey: null,
    via: member.publicKey,
    admin: false,
  };
  const cert = signCertificate(device, networkKey.secretKey);
  const back = decodeCertificate(encodeCertificate(cert));
  if (!back.ok) return t.fail(back.reason);
  t.is(back.value.kind, 'wireguard');
  t.deepEqual(back.value.via, member.publicKey);
  t.is(back.value.signingKey, null);
  t.throws(() => signCertificate({ ...device, admin: true }, networkKey.secretKey), { message: /admin/ });
});

test('a certificate signed by one key does not verify under another issuer', (t) => {
  const cert = signCertificate(fields, member.secretKey);
  const forged: Certificate = { ...cert, issuer: networkKey.publicKey };
  t.false(verifyCertificate(forged));
});

test('bad fields are refused when signing: names, addresses, times', (t) => {
  for (const bad of [
    { name: 'Upper' },
    { name: '-dash' },
    { name: 'a--b' },
    { name: 'x'.repeat(64) },
    { name: '' },
    { ipv4: '100.80.1' },
    { ipv4: '100.80.01.2' },
    { ipv6: 'fd::1::2' },
    { notAfter: NOW },
    { issuedAt: -1 },
  ]) {
    t.throws(
      () => signCertificate({ ...fields, ...bad }, networkKey.secretKey),
      undefined,
      JSON.stringify(bad),
    );
  }
});

test('decoding any bytes never throws and returns a typed failure for junk', (t) => {
  const valid = encodeCertificate(signCertificate(fields, networkKey.secretKey));
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 400 }), (junk) => {
      for (const decode of [decodeCertificate, decodeRevocation, decodeEndpointRecord]) {
        const d = decode(junk);
        if (!d.ok && typeof d.reason !== 'string') return false;
      }
      return true;
    }),
    { numRuns: 500 },
  );
  // Near misses: truncations and extensions of a valid certificate.
  for (let n = 0; n < valid.length; n++) t.false(decodeCertificate(valid.subarray(0, n)).ok);
  const longer = new Uint8Array(valid.length + 1);
  longer.set(valid);
  t.false(decodeCertificate(longer).ok);
});

test('a revocation round-trips, and any bit flip fails decoding or verification', (t) => {
  const r = signRevocation(
    {
      networkKey: networkKey.publicKey,
      subjectKind: 'signing',
      subjectKey: member.publicKey,
      revokedAt: NOW,
    },
    networkKey.secretKey,
  );
  const bytes = encodeRevocation(r);
  const back = decodeRevocation(bytes);
  if (!back.ok) return t.fail(back.reason);
  t.deepEqual(back.value, r);
  t.true(verifyRevocation(back.value));
  t.is(
    flipEveryBit(bytes, (b) => {
      const d = decodeRevocation(b);
      return d.ok && verifyRevocation(d.value);
    }),
    0,
  );
});

test('an endpoint record round-trips with IPv4 and IPv6 endpoints, and any bit flip fails', (t) => {
  const r = signEndpointRecord(
    { networkKey: networkKey.publicKey, endpoints: ['192.0.2.1:51820', '[2001:db8::1]:4242'], seq: NOW },
    member.secretKey,
  );
  const bytes = encodeEndpointRecord(r);
  const back = decodeEndpointRecord(bytes);
  if (!back.ok) return t.fail(back.reason);
  t.deepEqual(back.value, r);
  t.true(verifyEndpointRecord(back.value));
  t.is(
    flipEveryBit(bytes, (b) => {
      const d = decodeEndpointRecord(b);
      return d.ok && verifyEndpointRecord(d.value);
    }),
    0,
  );
});

test('a --no-relay endpoint record is version 2 with its flag signed; without the flag it stays version 1', (t) => {
  const fieldsOf = (noRelay: boolean) => ({
    networkKey: networkKey.publicKey,
    endpoints: ['192.0.2.1:51820'],
    seq: NOW,
    ...(noRelay && { noRelay: true }),
  });
  const plain = encodeEndpointRecord(signEndpointRecord(fieldsOf(false), member.secretKey));
  const flagged = encodeEndpointRecord(signEndpointRecord(fieldsOf(true), member.secretKey));
  t.is(plain[0], 1);
  t.is(flagged[0], 2);
  t.is(flagged.length, plain.length + 1);
  const back = decodeEndpointRecord(flagged);
  if (!back.ok) return t.fail(back.reason);
  t.true(back.value.noRelay);
  t.true(verifyEndpointRecord(back.value));
  const plainBack = decodeEndpointRecord(plain);
  t.true(plainBack.ok && plainBack.value.noRelay === undefined);
  // Dropping the flag (a relay lying about the member) breaks the signature.
  if (plainBack.ok) t.false(verifyEndpointRecord({ ...back.value, noRelay: undefined }));
  // A version-2 record with no flag set, or an unknown flag, is refused.
  const flagOffset = 1 + 32 + 32 + 8;
  for (const flags of [0, 2, 0x81]) {
    const bad = flagged.slice();
    bad[flagOffset] = flags;
    t.false(decodeEndpointRecord(bad).ok, `flags ${flags}`);
  }
  t.is(
    flipEveryBit(flagged, (b) => {
      const d = decodeEndpointRecord(b);
      return d.ok && verifyEndpointRecord(d.value);
    }),
    0,
  );
});

test('an endpoint record says which of its endpoints are port mappings, signed; any other encoding of that is refused', (t) => {
  const fields = {
    networkKey: networkKey.publicKey,
    endpoints: ['192.0.2.1:51820', '203.0.113.7:40001', '[fd00::1]:51820'],
    seq: NOW,
    relayEpoch: new Uint8Array(16).fill(0x5a),
  };
  const plain = encodeEndpointRecord(signEndpointRecord(fields, member.secretKey));
  const signed = signEndpointRecord({ ...fields, mapped: ['203.0.113.7:40001'] }, member.secretKey);
  const bytes = encodeEndpointRecord(signed);
  t.is(bytes.length, plain.length + 1, 'one byte more: the mask');
  const back = decodeEndpointRecord(bytes);
  if (!back.ok) return t.fail(back.reason);
  t.deepEqual(back.value.mapped, ['203.0.113.7:40001']);
  t.true(verifyEndpointRecord(back.value));
  // A gossip peer cannot mark another endpoint as mapped, or drop the mark, under the signature.
  t.false(verifyEndpointRecord({ ...back.value, mapped: ['192.0.2.1:51820'] }));
  t.false(verifyEndpointRecord({ ...back.value, mapped: undefined }));
  const none = decodeEndpointRecord(plain);
  t.true(none.ok && none.value.mapped === undefined);
  // The mask: nonzero under the flag, and only bits of listed endpoints.
  const maskAt = bytes.length - 64 - 1;
  t.is(bytes[maskAt], 0b010);
  for (const mask of [0, 0b1000, 0x80]) {
    const bad = bytes.slice();
    bad[maskAt] = mask;
    t.false(decodeEndpointRecord(bad).ok, `mask ${mask}`);
  }
  // A mapped endpoint must be one of the endpoints, and needs a version 3 record.
  t.throws(() => signEndpointRecord({ ...fields, mapped: ['198.51.100.9:1'] }, member.secretKey));
  t.throws(() =>
    signEndpointRecord({ ...fields, relayEpoch: undefined, mapped: ['203.0.113.7:40001'] }, member.secretKey),
  );
});

test('an endpoint record with a relay epoch is version 3, the epoch signed; versions 1 and 2 still decode', (t) => {
  const epoch = new Uint8Array(16).fill(0x5a);
  const fieldsOf = (noRelay: boolean) => ({
    networkKey: networkKey.publicKey,
    endpoints: ['192.0.2.1:51820'],
    seq: NOW,
    relayEpoch: epoch,
    ...(noRelay && { noRelay: true }),
  });
  const withEpoch = encodeEndpointRecord(signEndpointRecord(fieldsOf(false), member.secretKey));
  const old = encodeEndpointRecord(
    signEndpointRecord(
      { networkKey: networkKey.publicKey, endpoints: ['192.0.2.1:51820'], seq: NOW },
      member.secretKey,
    ),
  );
  t.is(withEpoch[0], 3);
  t.is(withEpoch.length, old.length + 1 + 16);
  const back = decodeEndpointRecord(withEpoch);
  if (!back.ok) return t.fail(back.reason);
  t.deepEqual(back.value.relayEpoch, epoch);
  t.true(verifyEndpointRecord(back.value));
  // Another epoch, or none, under the same signature: a relay lying about the member's epoch.
  t.false(verifyEndpointRecord({ ...back.value, relayEpoch: new Uint8Array(16) }));
  t.false(verifyEndpointRecord({ ...back.value, relayEpoch: undefined }));
  const flagged = decodeEndpointRecord(
    encodeEndpointRecord(signEndpointRecord(fieldsOf(true), member.secretKey)),
  );
  t.true(flagged.ok && flagged.value.noRelay === true && flagged.value.relayEpoch !== undefined);
  const oldBack = decodeEndpointRecord(old);
  t.true(oldBack.ok && oldBack.value.relayEpoch === undefined && verifyEndpointRecord(oldBack.value));
  // An unknown flag, a truncated epoch, or a version from the future is refused.
  const flagOffset = 1 + 32 + 32 + 8;
  for (const flags of [4, 0x80]) {
    const bad = withEpoch.slice();
    bad[flagOffset] = flags;
    t.false(decodeEndpointRecord(bad).ok, `flags ${flags}`);
  }
  t.false(decodeEndpointRecord(withEpoch.subarray(0, flagOffset + 1 + 8)).ok);
  const future = withEpoch.slice();
  future[0] = 4;
  t.false(decodeEndpointRecord(future).ok);
  t.is(
    flipEveryBit(withEpoch, (b) => {
      const d = decodeEndpointRecord(b);
      return d.ok && verifyEndpointRecord(d.value);
    }),
    0,
  );
});

test('an endpoint record holds at most 8 endpoints, in canonical form, without repeats', (t) => {
  const sign = (endpoints: string[]) =>
    signEndpointRecord({ networkKey: networkKey.publicKey, endpoints, seq: NOW }, member.secretKey);
  const nine = Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}:1`);
  t.throws(() => sign(nine));
  t.throws(() => sign(['192.0.2.1:1', '192.0.2.1:1']));
  t.throws(() => sign(['[2001:DB8::1]:1']));
  t.throws(() => sign(['192.0.2.1:0']));
  t.true(encodeEndpointRecord(sign(nine.slice(0, 8))).length < 1000);
});

test('signatures are domain-separated: a certificate signature is not a revocation signature', (t) => {
  const cert = signCertificate(fields, networkKey.secretKey);
  const r = signRevocation(
    {
      networkKey: networkKey.publicKey,
      subjectKind: 'signing',
      subjectKey: member.publicKey,
      revokedAt: NOW,
    },
    networkKey.secretKey,
  );
  t.false(verifyRevocation({ ...r, signature: cert.signature }));
});
