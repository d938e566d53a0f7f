/** The inviter's book: each use of an invite is granted exactly once, and never after expiry or revoke. */
import test from 'ava';
import fc from 'fast-check';
import { InviteBook } from '../../core/membership/inviteBook.js';
import { isMembershipError } from '../../core/membership/membershipError.js';
import { MAX_RETIRED, RetiredMembers } from '../../core/membership/retiredMembers.js';
import { HOUR, NOW, seededRandom } from './fixtures.js';

const random = seededRandom(21);

test('two redemptions of a single-use invite: exactly one is ok, the other is told it was used', (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR }, random);
  t.deepEqual([book.redeem(inv.id, inv.secret, NOW), book.redeem(inv.id, inv.secret, NOW)], ['ok', 'used']);
});

test('racing redemptions from async handlers: exactly one wins a single-use invite', async (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR, uses: 1 }, random);
  const results = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      await new Promise((resolve) => setImmediate(resolve));
      if (i % 3 === 0) await Promise.resolve();
      return book.redeem(inv.id, inv.secret, NOW);
    }),
  );
  t.is(results.filter((r) => r === 'ok').length, 1);
  t.is(results.filter((r) => r === 'used').length, 19);
});

test('any sequence of attempts grants exactly min(uses, good attempts in time) oks', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.record({ good: fc.boolean(), late: fc.boolean() }), { maxLength: 20 }),
        (uses, attempts) => {
          const book = new InviteBook();
          const inv = book.create({ expiresAt: NOW + HOUR, uses }, random);
          const wrong = new Uint8Array(16);
          let oks = 0;
          let goodInTime = 0;
          for (const a of attempts) {
            const r = book.redeem(inv.id, a.good ? inv.secret : wrong, a.late ? NOW + HOUR : NOW);
            if (a.good && !a.late) goodInTime++;
            if (r === 'ok') oks++;
            if (!a.good && r !== 'bad-secret') return false;
            if (a.good && a.late && r !== 'expired') return false;
          }
          return oks === Math.min(uses, goodInTime) && book.list(NOW)[0]!.usesLeft === uses - oks;
        },
      ),
    ),
  );
});

test('an invite is expired from its expiry time on', (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR, uses: 3 }, random);
  t.is(book.redeem(inv.id, inv.secret, NOW + HOUR), 'expired');
  t.is(book.redeem(inv.id, inv.secret, NOW + HOUR - 1), 'ok');
  t.is(book.list(NOW + HOUR)[0]!.state, 'expired');
});

test('a revoked invite redeems as revoked, and revoking an unknown id says so', (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR, uses: 2, label: 'for bob' }, random);
  t.true(book.revoke(inv.id));
  t.is(book.redeem(inv.id, inv.secret, NOW), 'revoked');
  t.false(book.revoke('0000000000000000'));
  t.deepEqual(book.list(NOW), [
    {
      id: inv.id,
      label: 'for bob',
      admin: false,
      expiresAt: NOW + HOUR,
      uses: 2,
      usesLeft: 2,
      state: 'revoked',
    },
  ]);
});

test('a wrong secret or an unknown id is refused and uses nothing up; state is told only to the holder', (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR }, random);
  const wrong = inv.secret.slice();
  wrong[15]! ^= 1;
  t.is(book.redeem(inv.id, wrong, NOW), 'bad-secret');
  t.is(book.redeem(inv.id, new Uint8Array(3), NOW), 'bad-secret');
  t.is(book.redeem('ffffffffffffffff', inv.secret, NOW), 'unknown');
  book.revoke(inv.id);
  t.is(book.redeem(inv.id, wrong, NOW + 2 * HOUR), 'bad-secret');
  t.is(book.redeem(inv.id, inv.secret, NOW + 2 * HOUR), 'revoked');
});

test('the book keeps only a hash of each secret, and round-trips through JSON with its counts', (t) => {
  const book = new InviteBook();
  const a = book.create({ expiresAt: NOW + HOUR, uses: 2, label: 'a' }, random);
  const b = book.create({ expiresAt: NOW + 2 * HOUR }, random);
  book.redeem(a.id, a.secret, NOW);
  book.revoke(b.id);
  const text = JSON.stringify(book.toJSON());
  for (const s of [a.secret, b.secret]) {
    t.false(text.includes(Buffer.from(s).toString('base64')));
    t.false(text.includes(Buffer.from(s).toString('hex')));
  }
  const back = InviteBook.fromJSON(JSON.parse(text));
  t.deepEqual(back.list(NOW), book.list(NOW));
  t.is(back.redeem(a.id, a.secret, NOW), 'ok');
  t.is(back.redeem(a.id, a.secret, NOW), 'used');
  t.is(back.redeem(b.id, b.secret, NOW), 'revoked');
});

test('a damaged invite book is refused naming the invite and field', (t) => {
  const book = new InviteBook();
  book.create({ expiresAt: NOW + HOUR, uses: 2 }, random);
  const json = book.toJSON();
  const inv = json.invites[0]!;
  const fails = (value: unknown, pattern: RegExp) => {
    const e = t.throws(() => InviteBook.fromJSON(value, '/state/invites.json'));
    t.true(isMembershipError(e) && e.code === 'ESTORE_CORRUPT');
    t.regex(e!.message, pattern);
  };
  fails(null, /^\/state\/invites\.json: not a JSON object/);
  fails({ ...json, version: 9 }, /unknown version 9/);
  fails({ ...json, invites: [{ ...inv, usesLeft: 3 }] }, /invite 0 .* bad usesLeft/);
  fails({ ...json, invites: [{ ...inv, secretHash: 'AAAA' }] }, /bad secretHash/);
  fails({ ...json, invites: [{ ...inv, id: 'nothex' }] }, /invite 0 has a bad id/);
  fails({ ...json, invites: [inv, inv] }, /listed twice/);
  fails({ ...json, invites: [{ ...inv, label: '\u001b[31m' }] }, /bad label/);
  fails({ ...json, invites: [{ ...inv, revoked: 'no' }] }, /revoked flag/);
});

test('invites need a sane use count and label', (t) => {
  const book = new InviteBook();
  for (const uses of [0, -1, 1.5, 1001]) {
    t.throws(() => book.create({ expiresAt: NOW + HOUR, uses }, random), { message: /--uses/ });
  }
  t.throws(() => book.create({ expiresAt: NOW + HOUR, label: 'x'.repeat(65) }, random));
  t.throws(() => book.create({ expiresAt: Number.NaN }, random));
});

test('check tells what a redemption would say without spending; a use given back is usable again', (t) => {
  const book = new InviteBook();
  const inv = book.create({ expiresAt: NOW + HOUR, uses: 1 }, random);
  t.is(book.check(inv.id, inv.secret, NOW), 'ok');
  t.is(book.check(inv.id, inv.secret, NOW), 'ok');
  t.is(book.check(inv.id, random(16), NOW), 'bad-secret');
  t.is(book.redeem(inv.id, inv.secret, NOW), 'ok');
  t.is(book.check(inv.id, inv.secret, NOW), 'used');
  book.giveBack(inv.id);
  book.giveBack(inv.id); // never above the invite's uses
  t.is(book.list(NOW)[0]!.usesLeft, 1);
  t.deepEqual([book.redeem(inv.id, inv.secret, NOW), book.redeem(inv.id, inv.secret, NOW)], ['ok', 'used']);
});

test('kicked members kept by the book survive a restart; a book without them still loads', (t) => {
  const book = new InviteBook();
  book.create({ expiresAt: NOW + HOUR }, random);
  const key = random(32);
  book.retired.note({ name: 'carol', wireguardKey: key });
  const back = InviteBook.fromJSON(JSON.parse(JSON.stringify(book.toJSON())));
  t.true(back.retired.hasName('carol'));
  t.true(back.retired.hasWireguardKey(key));
  t.false(back.retired.hasName('dave'));
  const { retired: _, ...older } = book.toJSON();
  t.is(InviteBook.fromJSON(older).retired.size, 0);
  const json = book.toJSON();
  for (const bad of [
    { name: 'Carol', wireguardKey: json.retired![0]!.wireguardKey },
    { name: 'carol', wireguardKey: 'AAAA' },
  ]) {
    const e = t.throws(() => InviteBook.fromJSON({ ...json, retired: [bad] }, '/state/invites.json'));
    t.true(isMembershipError(e) && e.code === 'ESTORE_CORRUPT');
    t.regex(e!.message, /retired 0 has a bad/);
  }
});

test('the kicked-member ledger is bounded: past its size the oldest is forgotten', (t) => {
  const ledger = new RetiredMembers();
  const first = random(32);
  ledger.note({ name: 'first', wireguardKey: first });
  for (let i = 0; i < MAX_RETIRED; i++) ledger.note({ name: `m${i}`, wireguardKey: random(32) });
  t.is(ledger.size, MAX_RETIRED);
  t.false(ledger.hasName('first'));
  t.false(ledger.hasWireguardKey(first));
  t.true(ledger.hasName(`m${MAX_RETIRED - 1}`));
});
