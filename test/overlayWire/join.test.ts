/** The join protocol between a JoinAttempt (joiner) and a JoinResponder (inviter). */
import test from 'ava';
import nacl from 'tweetnacl';
import { TYPE_JOIN_QUERY, TYPE_JOIN_QUERY_REPLY, TYPE_SEALED } from '../../core/overlayWire/constants.js';
import { SealedChannel } from '../../core/overlayWire/sealed.js';
import { Impostor, INVITER_ADDRESS, Inviter, joiner, NOW, run } from './joinWorld.js';

const ID = '0123456789abcdef0123456789abcdef';
const accepted = (text: string) => new TextEncoder().encode(text);

function world() {
  const inviter = new Inviter();
  const hosts = new Map<string, { receive(d: Uint8Array, now: number): Uint8Array[] }>([
    [INVITER_ADDRESS, inviter],
  ]);
  return { inviter, hosts };
}

test('happy path: query, sealed request, accept carrying the certificate', (t) => {
  const { inviter, hosts } = world();
  inviter.addInvite(ID);
  const { result, events } = run(joiner(inviter, ID), { hosts });
  if (!result.ok) return t.fail(result.detail);
  t.deepEqual(result.accept, accepted('certificate for b'));
  t.deepEqual(result.inviterPublicKey, inviter.keys.publicKey);
  t.is(result.inviterEndpoint, INVITER_ADDRESS);
  t.deepEqual(events[0], { kind: 'progress', attempt: 1, of: 6 });
  t.true(events.some((e) => e.kind === 'inviterFound'));
});

test('the secret never travels in clear: only the sealed request carries it', (t) => {
  const { inviter } = world();
  const invite = inviter.addInvite(ID);
  const seen: Uint8Array[] = [];
  const tap = {
    receive: (d: Uint8Array, now: number) => {
      seen.push(d);
      return inviter.receive(d, now);
    },
  };
  run(joiner(inviter, ID), { hosts: new Map([[INVITER_ADDRESS, tap]]) });
  t.true(seen.length >= 2);
  for (const d of seen) t.is(Buffer.from(d).indexOf(Buffer.from(invite.secret)), -1);
});

for (const [label, type, direction] of [
  ['query', TYPE_JOIN_QUERY, 'out'],
  ['query reply', TYPE_JOIN_QUERY_REPLY, 'back'],
  ['request', TYPE_SEALED, 'out'],
  ['accept', TYPE_SEALED, 'back'],
] as const) {
  test(`a lost ${label} is retried and the join still succeeds, redeeming the invite once`, (t) => {
    const { inviter, hosts } = world();
    inviter.addInvite(ID);
    const { result, events } = run(joiner(inviter, ID), {
      hosts,
      lose: (d, ty, n) => d === direction && ty === type && n < 2,
    });
    t.true(result.ok);
    t.true(events.filter((e) => e.kind === 'progress').length >= 3);
    t.is(inviter.redemptions, 1, 'a retransmitted request is answered from the cache');
  });
}

test('an answer from a key that does not match the code is ignored, and the real inviter is used', (t) => {
  const { inviter, hosts } = world();
  inviter.addInvite(ID);
  hosts.set('198.51.100.7:51820', new Impostor());
  const attempt = joiner(inviter, ID, { endpoints: ['198.51.100.7:51820', INVITER_ADDRESS] });
  const { result, events } = run(attempt, { hosts });
  t.true(result.ok);
  t.true(events.some((e) => e.kind === 'dropped' && e.reason === 'wrongInviterKey'));
});

test('only an impostor answering: unreachable, saying the key did not match, and no secret sent', (t) => {
  const impostor = new Impostor();
  const seen: Uint8Array[] = [];
  const tap = {
    receive: (d: Uint8Array) => {
      seen.push(d);
      return impostor.receive(d);
    },
  };
  const inviter = new Inviter();
  inviter.addInvite(ID);
  const { result, elapsedMs } = run(joiner(inviter, ID), { hosts: new Map([[INVITER_ADDRESS, tap]]) });
  t.like(result, { ok: false, reason: 'unreachable' });
  t.regex(result.ok ? '' : result.detail, /different key/);
  t.true(seen.every((d) => d[0] === TYPE_JOIN_QUERY));
  t.true(elapsedMs <= 16_000);
});

test('no answer at all: six attempts with progress, then unreachable after about 15 s', (t) => {
  const inviter = new Inviter();
  inviter.addInvite(ID);
  const { result, events, elapsedMs } = run(joiner(inviter, ID), { hosts: new Map() });
  t.like(result, { ok: false, reason: 'unreachable' });
  t.deepEqual(
    events.filter((e) => e.kind === 'progress').map((e) => (e.kind === 'progress' ? e.attempt : 0)),
    [1, 2, 3, 4, 5, 6],
  );
  t.is(elapsedMs, 15_000);
});

test('an invite id the inviter never issued gets no answer (scanners learn nothing)', (t) => {
  const { inviter, hosts } = world();
  const { result } = run(joiner(inviter, 'deadbeef', { secret: new Uint8Array(16) }), { hosts });
  t.like(result, { ok: false, reason: 'unreachable' });
  t.is(inviter.redemptions, 0);
});

test('a wrong secret is rejected as bad-secret', (t) => {
  const { inviter, hosts } = world();
  inviter.addInvite(ID);
  const { result } = run(joiner(inviter, ID, { secret: nacl.randomBytes(16) }), { hosts });
  t.like(result, { ok: false, reason: 'rejected', rejectReason: 'bad-secret' });
});

for (const [reason, invite] of [
  ['expired', { expiresAt: NOW - 1 }],
  ['used', { uses: 0 }],
  ['revoked', { revoked: true }],
] as const) {
  test(`a ${reason} invite is rejected with reason ${reason} and a readable detail`, (t) => {
    const { inviter, hosts } = world();
    inviter.addInvite(ID, invite);
    const { result } = run(joiner(inviter, ID), { hosts });
    t.like(result, { ok: false, reason: 'rejected', rejectReason: reason });
    t.regex(result.ok ? '' : result.detail, new RegExp(reason === 'used' ? 'already been used' : reason));
  });
}

test('two joiners racing for a single-use invite: exactly one wins, the other hears used', (t) => {
  const { inviter } = world();
  inviter.addInvite(ID);
  const a = joiner(inviter, ID, { name: 'a' });
  const b = joiner(inviter, ID, { name: 'b' });
  // Interleave by hand: both query, both learn the key, both requests arrive.
  const reply = (step: { send: { bytes: Uint8Array }[] }) => inviter.receive(step.send[0]!.bytes, NOW)[0]!;
  const aReq = a.receive(reply(a.start(NOW)), INVITER_ADDRESS, NOW);
  const bReq = b.receive(reply(b.start(NOW)), INVITER_ADDRESS, NOW);
  const aEnd = a.receive(reply(aReq), INVITER_ADDRESS, NOW).result;
  const bEnd = b.receive(reply(bReq), INVITER_ADDRESS, NOW).result;
  t.is([aEnd, bEnd].filter((r) => r?.ok).length, 1);
  t.like(bEnd, { ok: false, reason: 'rejected', rejectReason: 'used' });
});

test('junk and sealed messages from strangers are dropped by the joiner with a reason', (t) => {
  const inviter = new Inviter();
  inviter.addInvite(ID);
  const attempt = joiner(inviter, ID);
  t.deepEqual(attempt.receive(new Uint8Array([7, 7, 7]), 'x', NOW).events, [
    { kind: 'dropped', from: 'x', reason: 'finished' },
  ]);
  attempt.start(NOW);
  const reasonOf = (d: Uint8Array) => {
    const e = attempt.receive(d, 'x', NOW).events[0];
    return e?.kind === 'dropped' ? e.reason : null;
  };
  t.is(reasonOf(new Uint8Array([0x99, 1, 2])), 'unknownType');
  t.is(reasonOf(new Uint8Array([TYPE_JOIN_QUERY_REPLY, 1, 2])), 'badLength');
  const stranger = nacl.box.keyPair();
  const sealed = new SealedChannel({ privateKey: stranger.secretKey, publicKey: stranger.publicKey }).seal(
    nacl.box.keyPair().publicKey,
    { kind: 'gossip', body: new Uint8Array([1]) },
    NOW,
  );
  t.is(reasonOf(sealed), 'unexpectedMessage', 'nothing sealed is expected before the inviter is known');
  t.false(attempt.done);
});

test('a replayed join request is dropped by the inviter before it reaches redeem', (t) => {
  const { inviter } = world();
  inviter.addInvite(ID);
  const attempt = joiner(inviter, ID);
  const query = attempt.start(NOW).send[0]!.bytes;
  const request = attempt.receive(inviter.receive(query, NOW)[0]!, INVITER_ADDRESS, NOW).send[0]!.bytes;
  t.is(inviter.receive(request, NOW).length, 1);
  t.is(inviter.receive(request, NOW + 5).length, 0);
  t.deepEqual(inviter.dropped, ['replayed']);
  t.is(inviter.redemptions, 1);
});

test('after the attempt ends, a replayed accept changes nothing', (t) => {
  const { inviter } = world();
  inviter.addInvite(ID);
  const attempt = joiner(inviter, ID);
  const query = attempt.start(NOW).send[0]!.bytes;
  const request = attempt.receive(inviter.receive(query, NOW)[0]!, INVITER_ADDRESS, NOW).send[0]!.bytes;
  const accept = inviter.receive(request, NOW)[0]!;
  t.true(attempt.receive(accept, INVITER_ADDRESS, NOW).result?.ok);
  const again = attempt.receive(accept, INVITER_ADDRESS, NOW + 1);
  t.is(again.result, undefined);
  t.deepEqual(again.events, [{ kind: 'dropped', from: INVITER_ADDRESS, reason: 'finished' }]);
});

test('a join query changes no inviter state and is answered with a smaller reply', (t) => {
  const { inviter } = world();
  inviter.addInvite(ID);
  const query = joiner(inviter, ID).start(NOW).send[0]!.bytes;
  const replies = [inviter.receive(query, NOW), inviter.receive(query, NOW)];
  t.deepEqual(replies[0], replies[1]);
  t.true(replies[0]![0]!.length < query.length);
  t.is(inviter.redemptions, 0);
  t.is(inviter.invites.get(ID)!.uses, 1);
});

test('the joiner hears the inviter’s own reason, cut to printable ASCII', (t) => {
  const { inviter, hosts } = world();
  inviter.addInvite(ID);
  inviter.members.add('b');
  const { result } = run(joiner(inviter, ID), { hosts });
  t.like(result, {
    ok: false,
    reason: 'rejected',
    rejectReason: 'name-taken',
    detail: 'the name "b" is taken',
  });
});

test('an inviter cannot write escape sequences to the joiner’s terminal', (t) => {
  const inviter = new Inviter();
  inviter.addInvite(ID);
  // A hostile inviter: answers the query honestly, then rejects with control characters.
  const hostile = {
    receive(datagram: Uint8Array, now: number): Uint8Array[] {
      if (datagram[0] !== TYPE_SEALED) return inviter.receive(datagram, now);
      const opened = inviter.channel.open(datagram, now);
      if (!opened.ok || opened.message.kind !== 'joinRequest') return [];
      const detail = 'ok\u001b]0;pwned\u0007\u001b[2J\r\nfake prompt$ \u202e\u009b31m';
      return [
        inviter.channel.seal(
          opened.senderPublicKey,
          { kind: 'joinReject', requestId: opened.message.requestId, reason: 'other', detail },
          now,
        ),
      ];
    },
  };
  const { result } = run(joiner(inviter, ID), { hosts: new Map([[INVITER_ADDRESS, hostile]]) });
  if (result.ok || result.reason !== 'rejected') return t.fail('expected a reject');
  t.regex(result.detail, /^[ -~]*$/, 'printable ASCII only');
  t.true(result.detail.startsWith('ok?]0;pwned??[2J??fake prompt$ '), result.detail);
});
