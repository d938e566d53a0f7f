/** Invite codes as people paste and type them. */
import test from 'ava';
import fc from 'fast-check';
import { BASE32_ALPHABET } from '../../core/membership/base32.js';
import {
  encodeInviteCode,
  INVITE_MAX_LENGTH,
  type Invite,
  inviteId,
  inviterKeyHash,
  isInviter,
  parseInviteCode,
} from '../../core/membership/inviteCode.js';
import { isMembershipError, type MembershipErrorCode } from '../../core/membership/membershipError.js';
import { seededRandom } from './fixtures.js';

const random = seededRandom(11);
const key = random(32);
const secret = random(16);
const sample = () =>
  encodeInviteCode({ secret, inviterWireguardKey: key, endpoints: ['192.0.2.1:51820'] }).code;

function codeOf(text: string): MembershipErrorCode | 'accepted' {
  try {
    parseInviteCode(text);
    return 'accepted';
  } catch (e) {
    if (isMembershipError(e)) return e.code;
    throw e;
  }
}

const sameInvite = (a: Invite, b: Invite) =>
  Buffer.from(a.secret).equals(Buffer.from(b.secret)) &&
  Buffer.from(a.inviterKeyHash).equals(Buffer.from(b.inviterKeyHash)) &&
  JSON.stringify(a.endpoints) === JSON.stringify(b.endpoints);

const ipv4Endpoint = fc
  .tuple(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 }),
    fc.integer({ min: 1, max: 65535 }),
  )
  .map(([a, port]) => `${a.join('.')}:${port}`);
const ipv6Endpoint = fc
  .tuple(fc.ipV6(), fc.integer({ min: 1, max: 65535 }))
  .map(([a, port]) => `[${a}]:${port}`);
const payload = fc.record({
  secret: fc.uint8Array({ minLength: 16, maxLength: 16 }),
  inviterWireguardKey: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  endpoints: fc.array(fc.oneof(ipv4Endpoint, ipv6Endpoint), { minLength: 1, maxLength: 6 }),
});

test('any invite survives encode and parse, fits 120 characters, and keeps endpoints in order', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(payload, (p) => {
        const { code, endpoints } = encodeInviteCode(p);
        const back = parseInviteCode(code);
        const given = p.endpoints.map(
          (e) => parseInviteCode(encodeInviteCode({ ...p, endpoints: [e] }).code).endpoints[0],
        );
        let at = 0;
        const inOrder = endpoints.every((e) => {
          while (at < given.length && given[at] !== e) at++;
          return at++ < given.length;
        });
        return (
          code.length <= INVITE_MAX_LENGTH &&
          code.startsWith('ovl1-') &&
          endpoints.length >= 1 &&
          inOrder &&
          Buffer.from(back.secret).equals(Buffer.from(p.secret)) &&
          Buffer.from(back.inviterKeyHash).equals(Buffer.from(inviterKeyHash(p.inviterWireguardKey))) &&
          JSON.stringify(back.endpoints) === JSON.stringify(endpoints)
        );
      }),
      { numRuns: 300 },
    ),
  );
});

test('a code carries three IPv4 endpoints or one IPv6 endpoint, skipping what does not fit', (t) => {
  const three = encodeInviteCode({
    secret,
    inviterWireguardKey: key,
    endpoints: ['192.0.2.1:1', '198.51.100.2:2', '203.0.113.3:3', '192.0.2.4:4'],
  });
  t.deepEqual(three.endpoints, ['192.0.2.1:1', '198.51.100.2:2', '203.0.113.3:3']);
  const mixed = encodeInviteCode({
    secret,
    inviterWireguardKey: key,
    endpoints: ['[2001:db8::1]:1', '192.0.2.1:1'],
  });
  t.deepEqual(mixed.endpoints, ['[2001:db8::1]:1']);
  const skip = encodeInviteCode({
    secret,
    inviterWireguardKey: key,
    endpoints: ['192.0.2.1:1', '[2001:db8::1]:1', '192.0.2.2:2'],
  });
  t.deepEqual(skip.endpoints, ['192.0.2.1:1', '192.0.2.2:2']);
  t.throws(() => encodeInviteCode({ secret, inviterWireguardKey: key, endpoints: [] }), {
    message: /at least one endpoint/,
  });
});

test('every single-character substitution of a code is caught as a typo, never read as another invite', (t) => {
  const codes = [sample()];
  const r = seededRandom(12);
  for (let i = 0; i < 15; i++) {
    codes.push(
      encodeInviteCode({
        secret: r(16),
        inviterWireguardKey: r(32),
        endpoints: i % 2 ? ['[2001:db8::5]:443'] : ['192.0.2.1:1', '198.51.100.2:2', '203.0.113.3:3'],
      }).code,
    );
  }
  let tried = 0;
  for (const code of codes) {
    for (let i = 5; i < code.length; i++) {
      if (code[i] === '-') continue;
      for (const c of BASE32_ALPHABET) {
        if (c === code[i]) continue;
        const result = codeOf(code.slice(0, i) + c + code.slice(i + 1));
        tried++;
        if (result !== 'EINVITE_TYPO' && result !== 'EINVITE_FORMAT')
          return t.fail(`${code} @${i}→${c}: ${result}`);
      }
    }
  }
  t.true(tried > 30000, `${tried} substitutions`);
});

test('every adjacent transposition of a code is caught, or reads as the very same invite', (t) => {
  const r = seededRandom(13);
  for (let n = 0; n < 40; n++) {
    const { code } = encodeInviteCode({
      secret: r(16),
      inviterWireguardKey: r(32),
      endpoints: ['192.0.2.9:9', '[::1]:2'],
    });
    const original = parseInviteCode(code);
    for (let i = 0; i + 1 < code.length; i++) {
      if (code[i] === code[i + 1]) continue;
      const swapped = code.slice(0, i) + code[i + 1] + code[i] + code.slice(i + 2);
      let back: Invite;
      try {
        back = parseInviteCode(swapped);
      } catch (e) {
        t.true(isMembershipError(e) && /^EINVITE_(TYPO|FORMAT|VERSION)$/.test(e.code), swapped);
        continue;
      }
      // Moving a dash changes nothing that is read: the same invite is fine, a different one is not.
      t.true(sameInvite(back, original), `${code} → ${swapped}`);
    }
  }
});

test('a code is read in any case, with O for 0, I and L for 1, and spaces or no dashes', (t) => {
  const code = sample();
  const original = parseInviteCode(code);
  const body = code.slice(5);
  for (const variant of [
    code.toUpperCase(),
    `ovl1-${body.replace(/0/g, 'o').replace(/1/g, 'l')}`,
    `OVL1-${body.replace(/1/g, 'I').toUpperCase()}`,
    `ovl1-${body.replace(/-/g, ' ')}`,
    `ovl1${body.replace(/-/g, '')}`,
    `  ${code}\n`,
  ]) {
    t.true(sameInvite(parseInviteCode(variant), original), variant);
  }
});

test('a code of another format or not a code at all is a version error', (t) => {
  const code = sample();
  t.is(codeOf(`ovl2-${code.slice(5)}`), 'EINVITE_VERSION');
  t.is(codeOf('hello'), 'EINVITE_VERSION');
  t.is(codeOf(''), 'EINVITE_VERSION');
  t.is(codeOf(code.slice(1)), 'EINVITE_VERSION');
});

test('a code with foreign characters, or far too short or long, is a format error', (t) => {
  const code = sample();
  t.is(codeOf(`${code.slice(0, 10)}u${code.slice(11)}`), 'EINVITE_FORMAT');
  t.is(codeOf(`${code.slice(0, 10)}!${code.slice(11)}`), 'EINVITE_FORMAT');
  t.is(codeOf(code.slice(0, 30)), 'EINVITE_FORMAT');
  t.is(codeOf(`${code}-${code.slice(5)}`), 'EINVITE_FORMAT');
});

test('a code missing a character or with one extra is reported as mistyped', (t) => {
  const code = sample();
  for (let i = 5; i < code.length; i++) {
    if (code[i] === '-') continue;
    t.regex(codeOf(code.slice(0, i) + code.slice(i + 1)), /^EINVITE_(TYPO|FORMAT)$/);
    t.regex(codeOf(`${code.slice(0, i)}x${code.slice(i)}`), /^EINVITE_(TYPO|FORMAT)$/);
  }
  const longer = encodeInviteCode({ secret, inviterWireguardKey: key, endpoints: ['[2001:db8::1]:1'] }).code;
  try {
    parseInviteCode(longer.slice(0, -1));
    t.fail();
  } catch (e) {
    t.true(isMembershipError(e));
    t.regex((e as Error).message, /mistyped/);
  }
});

test('an invite id is 16 hex characters of a hash of the secret, and says which inviter key the code names', (t) => {
  const id = inviteId(secret);
  t.regex(id, /^[0-9a-f]{16}$/);
  t.is(inviteId(secret), id);
  t.not(inviteId(random(16)), id);
  t.false(Buffer.from(secret).toString('hex').includes(id));
  const invite = parseInviteCode(sample());
  t.true(isInviter(invite, key));
  t.false(isInviter(invite, random(32)));
});
