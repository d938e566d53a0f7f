/**
 * The inviter's answer to a join (core/node/admin.ts redeemInvite behind JoinResponder), with a
 * real roster and invite book: a join can never take over or disturb an existing member, and a
 * refused join never costs the invite a use.
 */
import test, { type ExecutionContext } from 'ava';
import nacl from 'tweetnacl';
import { encodeKey } from '../../core/base/keys.js';
import { InviteBook } from '../../core/membership/inviteBook.js';
import { issueCertificate, kickMember } from '../../core/membership/issue.js';
import { retiringStore } from '../../core/membership/retiredMembers.js';
import { Roster } from '../../core/membership/roster.js';
import { kick, redeemInvite } from '../../core/node/admin.js';
import type { JoinerInfo, JoinRequest } from '../../core/overlayWire/index.js';
import { certFor, makeNode, type TestNode } from '../membership/fixtures.js';
import { certificateBytes, HOUR, type InviterWorld, inviterWorld, NOW, usesLeft } from './inviterWorld.js';

const FROM = '192.0.2.66:51820';

/** What the roster, the invite and the gossip look like: a refused join must change none of it. */
function snapshot(w: InviterWorld, now = NOW) {
  return {
    records: w.net.roster
      .records()
      .map((r) => `${r.id}@${r.version}:${Buffer.from(r.bytes).toString('base64')}`)
      .sort(),
    members: w.net.roster.members(now).map((m) => m.certificate.name),
    usesLeft: usesLeft(w, now),
    published: w.published.length,
  };
}

function joiner(node: TestNode, overrides: Partial<JoinerInfo> = {}): JoinerInfo {
  return {
    publicKey: node.wireguard.publicKey,
    name: node.name,
    signingPublicKey: node.signing.publicKey,
    listenPort: 51820,
    endpoints: [],
    from: FROM,
    ...overrides,
  };
}

function redeem(w: InviterWorld, info: JoinerInfo, now = NOW) {
  return redeemInvite(w.node, w.invite.id, w.invite.secret, info, now);
}

/** After a refusal, the same code still admits a good joiner. */
function goodJoinStillWorks(t: ExecutionContext, w: InviterWorld, now = NOW): void {
  const before = usesLeft(w, now);
  const fresh = makeNode('fresh', w.net.random);
  const result = redeem(w, joiner(fresh), now);
  t.true(result.ok, result.ok ? '' : `${result.reason}: ${result.detail}`);
  t.is(usesLeft(w, now), before - 1);
  t.truthy(w.net.roster.memberBySigningKey(fresh.signing.publicKey, now));
}

test('a crafted join carrying an admin’s signing key is refused: the admin, those it admitted and the invite are unchanged', (t) => {
  const w = inviterWorld();
  const before = snapshot(w);
  const aliceCert = certificateBytes(w, w.alice);
  const mallory = nacl.box.keyPair();
  // Mallory knows alice's public signing key (every member does) but not its secret half.
  const request = {
    kind: 'joinRequest',
    requestId: nacl.randomBytes(16),
    inviteId: w.invite.id,
    secret: w.invite.secret,
    name: 'mallory',
    signingPublicKey: w.alice.signing.publicKey,
    listenPort: 51820,
    endpoints: [],
    signature: nacl.randomBytes(64),
  } as JoinRequest;
  const reply = w.responder.answerRequest(mallory.publicKey, request, FROM, NOW + 1);
  t.is(reply.kind, 'joinReject');
  t.deepEqual(certificateBytes(w, w.alice), aliceCert, 'alice keeps her certificate, byte for byte');
  w.net.roster.prune(NOW + 1);
  t.deepEqual(snapshot(w, NOW + 1), before, 'carol and dave, and the invite, are as they were');
  t.true(w.net.roster.memberBySigningKey(w.alice.signing.publicKey, NOW + 1)!.certificate.admin);
  t.false(w.net.roster.isAllowed(mallory.publicKey, NOW + 1));
  goodJoinStillWorks(t, w, NOW + 1);
});

test('a join under a signing key that already holds a certificate is refused as key-taken, never renewed', (t) => {
  const w = inviterWorld();
  const before = snapshot(w);
  // Even a request that proved alice's key (alice joining again, new WireGuard key) renews nothing.
  const result = redeem(w, joiner(w.alice, { publicKey: nacl.randomBytes(32), name: 'alice2' }));
  t.like(result, { ok: false, reason: 'key-taken' });
  t.deepEqual(snapshot(w), before);
  goodJoinStillWorks(t, w);
});

test('a join with a WireGuard key another member holds is refused as key-taken; the use is kept', (t) => {
  const w = inviterWorld();
  const before = snapshot(w);
  const thief = { ...makeNode('thief', w.net.random), wireguard: w.admitted[0]!.wireguard };
  t.like(redeem(w, joiner(thief)), { ok: false, reason: 'key-taken' });
  t.deepEqual(snapshot(w), before);
  goodJoinStillWorks(t, w);
});

test('a join with a taken name is refused as name-taken; the use is kept and a good join follows', (t) => {
  const w = inviterWorld();
  const before = snapshot(w);
  const twin = makeNode('carol', w.net.random);
  const result = redeem(w, joiner(twin));
  t.like(result, { ok: false, reason: 'name-taken' });
  t.regex(result.ok ? '' : (result.detail ?? ''), /carol/);
  t.deepEqual(snapshot(w), before);
  goodJoinStillWorks(t, w);
});

for (const name of ['Bob', 'a--b', '-a', 'a-', 'x'.repeat(64), '', 'a.b', 'bé']) {
  test(`a join named ${JSON.stringify(name)} is refused as bad-name before the invite is spent`, (t) => {
    const w = inviterWorld();
    const before = snapshot(w);
    t.like(redeem(w, joiner(makeNode(name, w.net.random))), { ok: false, reason: 'bad-name' });
    t.deepEqual(snapshot(w), before);
    goodJoinStillWorks(t, w);
  });
}

test('a name or key held by an expired certificate the roster still holds is refused', (t) => {
  const w = inviterWorld();
  const old = makeNode('old', w.net.random);
  issueCertificate(
    w.net.roster,
    {
      kind: 'member',
      name: old.name,
      wireguardKey: old.wireguard.publicKey,
      signingKey: old.signing.publicKey,
      lifetimeMs: HOUR,
    },
    w.net.networkKey.secretKey,
    { random: w.net.random, now: NOW },
  );
  const later = NOW + 2 * HOUR;
  t.is(w.net.roster.memberByName('old', later), undefined, 'expired, but not yet pruned');
  const before = snapshot(w, later);
  t.like(redeem(w, joiner(makeNode('old', w.net.random)), later), { ok: false, reason: 'name-taken' });
  t.like(redeem(w, joiner(old, { name: 'old2' }), later), { ok: false, reason: 'key-taken' });
  t.like(redeem(w, joiner(makeNode('old3', w.net.random), { publicKey: old.wireguard.publicKey }), later), {
    ok: false,
    reason: 'key-taken',
  });
  t.deepEqual(snapshot(w, later), before);
  goodJoinStillWorks(t, w, later);
});

test('the subject of a shadowed certificate cannot join again under its signing key', (t) => {
  const w = inviterWorld();
  const shadow = makeNode('shade', w.net.random);
  // Two certificates for the same address: the later-issued one arrived first, then lost to the
  // earlier one and stays held, shadowed.
  const ipv4 = '100.80.200.7';
  const later = makeNode('shade-later', w.net.random);
  t.is(
    w.net.roster.offer(
      certFor(w.net, later, w.net.networkKey.secretKey, { ipv4, issuedAt: NOW + 5 }),
      NOW + 5,
    ),
    'accepted',
  );
  t.is(
    w.net.roster.offer(
      certFor(w.net, shadow, w.net.networkKey.secretKey, { ipv4, issuedAt: NOW + 1 }),
      NOW + 5,
    ),
    'accepted',
  );
  t.is(w.net.roster.statusOf(encodeKey(later.signing.publicKey), NOW + 5), 'shadowed');
  const before = snapshot(w, NOW + 5);
  t.like(redeem(w, joiner(later, { name: 'comeback' }), NOW + 5), { ok: false, reason: 'key-taken' });
  t.deepEqual(snapshot(w, NOW + 5), before);
});

test('a member this node kicked cannot join again with its signing key, its WireGuard key or its name', (t) => {
  const w = inviterWorld();
  const carol = w.admitted[0]!;
  kick(w.node, 'carol', NOW);
  t.is(w.net.roster.memberByName('carol', NOW), undefined);
  t.is(certificateBytes(w, carol), undefined, 'its certificate is gone from the roster');
  const before = snapshot(w);
  t.like(redeem(w, joiner(carol)), { ok: false, reason: 'kicked' });
  const newKeys = makeNode('carol-again', w.net.random);
  t.like(redeem(w, joiner(newKeys, { publicKey: carol.wireguard.publicKey })), {
    ok: false,
    reason: 'kicked',
  });
  t.like(redeem(w, joiner(makeNode('carol', w.net.random))), { ok: false, reason: 'name-taken' });
  t.deepEqual(snapshot(w), before);
  goodJoinStillWorks(t, w);
});

test('a kick another admin signed, arriving by gossip, keeps the kicked name and key out too', (t) => {
  const w = inviterWorld();
  const dave = w.admitted[1]!;
  const elsewhere = new Roster(w.net.network);
  for (let pass = 0; pass < 2; pass++) for (const r of w.net.roster.records()) elsewhere.offer(r, NOW);
  const revocation = kickMember(elsewhere, 'dave', w.alice.signing.secretKey, NOW);
  const saved: number[] = [];
  const store = retiringStore(w.net.roster, w.invites.retired, () => saved.push(1));
  t.is(store.offer(revocation, NOW), 'accepted');
  t.is(saved.length, 1, 'the ledger change is saved');
  // An admin's kick keeps the certificate held, as the anchor its revocation relies on
  // (core/membership/standing.ts), but no longer a member.
  t.is(w.net.roster.memberByName('dave', NOW), undefined);
  t.like(redeem(w, joiner(makeNode('dave', w.net.random))), { ok: false, reason: 'name-taken' });
  t.like(redeem(w, joiner(makeNode('dave2', w.net.random), { publicKey: dave.wireguard.publicKey })), {
    ok: false,
    reason: 'kicked',
  });
  // And the ledger survives a restart with the invite book.
  const reloaded = InviteBook.fromJSON(JSON.parse(JSON.stringify(w.invites.toJSON())));
  t.true(reloaded.retired.hasName('dave'));
  t.true(reloaded.retired.hasWireguardKey(dave.wireguard.publicKey));
  t.is(usesLeft(w), 2);
});

test('a network with no free address refuses the join and keeps the use', (t) => {
  const w = inviterWorld({ subnet: '100.99.1.0/24' });
  // A /24 has 254 addresses; founder, alice, carol and dave hold 4.
  for (let i = 0; i < 250; i++) {
    const name = `e${i}`;
    const n = makeNode(name, w.net.random);
    issueCertificate(
      w.net.roster,
      { kind: 'member', name, wireguardKey: n.wireguard.publicKey, signingKey: n.signing.publicKey },
      w.net.networkKey.secretKey,
      { random: w.net.random, now: NOW },
    );
  }
  const before = snapshot(w);
  const result = redeem(w, joiner(makeNode('late', w.net.random)));
  t.like(result, { ok: false });
  t.regex(result.ok ? '' : (result.detail ?? ''), /address/);
  t.deepEqual(snapshot(w), before);
});
