/**
 * The join request's signature: it proves the signing key the certificate will name, over every
 * field the request asks for, for one inviter and one sealing key; the inviter checks it before
 * anything else, so a request that fails it never reaches the invite book or the roster.
 */
import test from 'ava';
import nacl from 'tweetnacl';
import type { JoinRequest } from '../../core/overlayWire/innerMessage.js';
import {
  type JoinParties,
  signJoinRequest,
  verifyJoinRequest,
} from '../../core/overlayWire/joinSignature.js';
import { Inviter, NOW } from './joinWorld.js';

const ID = '0123456789abcdef0123456789abcdef';

function signed(inviter: Inviter) {
  const signing = nacl.sign.keyPair();
  const joinerKey = nacl.box.keyPair().publicKey;
  const fields = {
    requestId: nacl.randomBytes(16),
    inviteId: ID,
    name: 'bob',
    signingPublicKey: signing.publicKey,
    listenPort: 51821,
    endpoints: ['198.51.100.2:51821'],
  };
  const parties: JoinParties = { inviterPublicKey: inviter.keys.publicKey, joinerPublicKey: joinerKey };
  const request: JoinRequest = {
    kind: 'joinRequest',
    ...fields,
    secret: inviter.invites.get(ID)!.secret,
    signature: signJoinRequest(fields, parties, signing.secretKey),
  };
  return { request, joinerKey, signing, parties };
}

test('a request signed by its own signing key is verified and redeemed', (t) => {
  const inviter = new Inviter();
  inviter.addInvite(ID);
  const { request, joinerKey } = signed(inviter);
  const reply = inviter.responder.answerRequest(joinerKey, request, 'joiner', NOW);
  t.is(reply.kind, 'joinAccept');
  t.is(inviter.redemptions, 1);
});

const tampered: [string, (r: JoinRequest) => JoinRequest][] = [
  ['the name', (r) => ({ ...r, name: 'alice' })],
  ['the signing key (another member’s)', (r) => ({ ...r, signingPublicKey: nacl.sign.keyPair().publicKey })],
  ['the endpoints', (r) => ({ ...r, endpoints: ['203.0.113.9:1'] })],
  ['the listen port', (r) => ({ ...r, listenPort: 1 })],
  ['the invite id', (r) => ({ ...r, inviteId: 'ffff' })],
  ['the request id', (r) => ({ ...r, requestId: nacl.randomBytes(16) })],
  ['the signature bytes', (r) => ({ ...r, signature: r.signature.map((b, i) => (i === 0 ? b ^ 1 : b)) })],
  ['a random signature', (r) => ({ ...r, signature: nacl.randomBytes(64) })],
];
for (const [what, change] of tampered) {
  test(`a request whose signature does not cover ${what} is refused as bad-signature, before redeem`, (t) => {
    const inviter = new Inviter();
    inviter.addInvite(ID);
    const { request, joinerKey } = signed(inviter);
    const reply = inviter.responder.answerRequest(joinerKey, change(request), 'joiner', NOW);
    t.like(reply, { kind: 'joinReject', reason: 'bad-signature' });
    t.is(inviter.redemptions, 0, 'the invite book was never asked');
    t.is(inviter.invites.get(ID)!.uses, 1);
    // The honest request still goes through afterwards: the refusal was not cached against it.
    t.is(inviter.responder.answerRequest(joinerKey, request, 'joiner', NOW).kind, 'joinAccept');
  });
}

test('a request signed for another inviter, or sealed by another WireGuard key, is refused', (t) => {
  const inviter = new Inviter();
  inviter.addInvite(ID);
  const { request, joinerKey, parties } = signed(inviter);
  const other = new Inviter();
  other.invites.set(ID, inviter.invites.get(ID)!);
  t.like(other.responder.answerRequest(joinerKey, request, 'joiner', NOW), { reason: 'bad-signature' });
  const stranger = nacl.box.keyPair().publicKey;
  t.like(inviter.responder.answerRequest(stranger, request, 'joiner', NOW), { reason: 'bad-signature' });
  t.is(inviter.redemptions + other.redemptions, 0);
  t.true(verifyJoinRequest(request, parties));
});
