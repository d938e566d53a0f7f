/**
 * The node's door for overlay's own datagrams, attacked the way the review did: a stranger's junk
 * must cost a hash and nothing else, never a Diffie-Hellman, a cache slot or a member's replay
 * state; joins come only from an address that asked; and a member whose clock is off is named.
 */
import { createHmac } from 'node:crypto';
import test from 'ava';
import nacl from 'tweetnacl';
import type { Endpoint } from '../../core/base/endpoint.js';
import { encodeKey } from '../../core/base/keys.js';
import { OverlayInbox } from '../../core/node/overlayInbox.js';
import {
  encodeJoinQuery,
  type InnerMessage,
  inviterKeyHash,
  JoinAttempt,
  JoinResponder,
  MAX_PENDING_JOINS,
  SealedChannel,
} from '../../core/overlayWire/index.js';
import { signJoinRequest } from '../../core/overlayWire/joinSignature.js';
import { mac1Key } from '../../core/overlayWire/sealed.js';

const NOW = 1_750_000_000_000;
const ID = '0123456789abcdef';
const gossip: InnerMessage = { kind: 'gossip', body: new TextEncoder().encode('digest') };
const MEMBER_AT: Endpoint = { address: '192.0.2.7', port: 51820 };
const STRANGER_AT: Endpoint = { address: '203.0.113.66', port: 40000 };

function keys() {
  const k = nacl.box.keyPair();
  return { ...k, channel: new SealedChannel({ privateKey: k.secretKey, publicKey: k.publicKey }) };
}

/** A node's inbox with a roster of one member, `m`, and one invite, ID. */
function world() {
  const self = keys();
  const member = keys();
  const delivered: { sender: string; message: InnerMessage; from: Endpoint }[] = [];
  const sent: { bytes: Uint8Array; to: Endpoint }[] = [];
  const logs: string[] = [];
  let redemptions = 0;
  const responder = new JoinResponder({
    publicKey: self.publicKey,
    isKnownInvite: (id) => id === ID,
    redeem: () => {
      redemptions++;
      return { ok: true, acceptBytes: new TextEncoder().encode('certificate') };
    },
  });
  const inbox = new OverlayInbox({
    channel: self.channel,
    responder,
    memberName: (key) => (nacl.verify(key, member.publicKey) ? 'm' : undefined),
    fromMember: (sender, message, from) => delivered.push({ sender: encodeKey(sender), message, from }),
    sendClear: (bytes, to) => sent.push({ bytes, to }),
    sendSealedBytes: (bytes, to) => sent.push({ bytes, to }),
    log: (line) => logs.push(line),
  });
  return { self, member, inbox, delivered, sent, logs, redemptions: () => redemptions };
}

/** A join request for invite ID from `joiner`, signed as the protocol wants, for `inviter`. */
function joinRequest(joiner: Uint8Array, inviter: Uint8Array): InnerMessage {
  const signing = nacl.sign.keyPair();
  const fields = {
    requestId: new Uint8Array(16).fill(1),
    inviteId: ID,
    secret: new Uint8Array(16),
    name: 'b',
    signingPublicKey: signing.publicKey,
    listenPort: 51820,
    endpoints: [],
  };
  const signature = signJoinRequest(
    fields,
    { inviterPublicKey: inviter, joinerPublicKey: joiner },
    signing.secretKey,
  );
  return { kind: 'joinRequest', ...fields, signature };
}

/** A sealed-looking datagram with a right mac1 from random key `sender`: what a stranger who knows our key sends. */
function junkWithMac1(receiver: Uint8Array, sender: Uint8Array, size = 200): Uint8Array {
  const d = nacl.randomBytes(size);
  d[0] = 0x80;
  d.set(sender, 1);
  const at = size - 16;
  d.set(createHmac('sha256', mac1Key(receiver)).update(d.subarray(0, at)).digest().subarray(0, 16), at);
  return d;
}

test("a member's message is delivered with where it came from", (t) => {
  const w = world();
  w.inbox.receive(w.member.channel.seal(w.self.publicKey, gossip, NOW), MEMBER_AT, undefined, NOW);
  t.is(w.delivered.length, 1);
  t.deepEqual(w.delivered[0], { sender: encodeKey(w.member.publicKey), message: gossip, from: MEMBER_AT });
});

test('a stranger flooding future-dated messages is dropped before any key work; members are still heard', (t) => {
  // The review's blackout at node level: 16k future-dated sealed messages from a non-member were
  // opened (one X25519 each) and recorded before the membership check, and their replay entries
  // then made every member's messages stale for a minute.
  const w = world();
  const stranger = keys();
  for (let i = 0; i < 16_000; i++) {
    const d = stranger.channel.seal(w.self.publicKey, gossip, NOW + 59_000);
    w.inbox.receive(d, STRANGER_AT, undefined, NOW);
  }
  t.is(w.inbox.dropped.get('notMember'), 16_000);
  t.like(w.self.channel.sizes, { boxKeys: 0, senders: 0, strangers: 0, messageIds: 0 });
  w.inbox.receive(w.member.channel.seal(w.self.publicKey, gossip, NOW), MEMBER_AT, undefined, NOW);
  t.is(w.delivered.length, 1);
});

test("junk from random keys that knows our public key costs no Diffie-Hellman and evicts no member's box key", (t) => {
  const w = world();
  w.inbox.receive(w.member.channel.seal(w.self.publicKey, gossip, NOW), MEMBER_AT, undefined, NOW);
  t.is(w.self.channel.sizes.boxKeys, 1);
  for (let i = 0; i < 20_000; i++) {
    w.inbox.receive(junkWithMac1(w.self.publicKey, nacl.randomBytes(32)), STRANGER_AT, undefined, NOW);
  }
  // Without our key, a datagram does not even get past mac1.
  for (let i = 0; i < 1_000; i++) {
    const d = nacl.randomBytes(200);
    d[0] = 0x80;
    w.inbox.receive(d, STRANGER_AT, undefined, NOW);
  }
  t.is(w.inbox.dropped.get('notMember'), 20_000);
  t.is(w.inbox.dropped.get('badMac1'), 1_000);
  t.is(w.self.channel.sizes.boxKeys, 1, "only the member's box key was ever computed");
  w.inbox.receive(w.member.channel.seal(w.self.publicKey, gossip, NOW + 1), MEMBER_AT, undefined, NOW + 1);
  t.is(w.delivered.length, 2);
});

test('a junk datagram claiming to be a member is refused by the box, and the member is still heard', (t) => {
  const w = world();
  for (let i = 0; i < 1_000; i++) {
    w.inbox.receive(junkWithMac1(w.self.publicKey, w.member.publicKey), STRANGER_AT, undefined, NOW);
  }
  t.is(w.inbox.dropped.get('decryptFailed'), 1_000);
  w.inbox.receive(w.member.channel.seal(w.self.publicKey, gossip, NOW), MEMBER_AT, undefined, NOW);
  t.is(w.delivered.length, 1);
});

test('a join request is opened only from an address that just asked about one of our invites', (t) => {
  const w = world();
  const joiner = keys();
  const request = joinRequest(joiner.publicKey, w.self.publicKey);
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, request, NOW), STRANGER_AT, undefined, NOW);
  t.is(w.inbox.dropped.get('notMember'), 1);
  t.is(w.redemptions(), 0);

  w.inbox.receive(encodeJoinQuery(ID), STRANGER_AT, undefined, NOW);
  t.is(w.sent.length, 1, 'the query is answered');
  // The same request from elsewhere still costs nothing.
  const elsewhere = { address: '203.0.113.67', port: 40000 };
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, request, NOW), elsewhere, undefined, NOW);
  t.is(w.inbox.dropped.get('notMember'), 2);
  // From the address that asked, it is answered; anything else from there is not.
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, request, NOW), STRANGER_AT, undefined, NOW + 1);
  t.is(w.redemptions(), 1);
  t.is(w.sent.length, 2);
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, gossip, NOW), STRANGER_AT, undefined, NOW + 2);
  t.is(w.inbox.dropped.get('strangerMessage'), 1);
  // An address's chance to join lapses.
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, request, NOW), STRANGER_AT, undefined, NOW + 60_000);
  t.is(w.inbox.dropped.get('notMember'), 3);
});

test('a query for an invite we do not hold opens nothing; a relayed query is refused; the table of askers is bounded', (t) => {
  const w = world();
  w.inbox.receive(encodeJoinQuery('fedcba9876543210'), STRANGER_AT, undefined, NOW);
  t.is(w.inbox.dropped.get('joinQuery'), 1);
  t.is(w.sent.length, 0);
  w.inbox.receive(encodeJoinQuery(ID), MEMBER_AT, w.member.publicKey, NOW);
  t.is(w.inbox.dropped.get('unexpectedType'), 1);
  const first = { address: '198.18.0.1', port: 1 };
  w.inbox.receive(encodeJoinQuery(ID), first, undefined, NOW);
  for (let i = 0; i < MAX_PENDING_JOINS; i++) {
    w.inbox.receive(encodeJoinQuery(ID), { address: '198.18.1.1', port: 1000 + i }, undefined, NOW);
  }
  const joiner = keys();
  const request = joinRequest(joiner.publicKey, w.self.publicKey);
  w.inbox.receive(joiner.channel.seal(w.self.publicKey, request, NOW), first, undefined, NOW);
  t.is(w.inbox.dropped.get('notMember'), 1, 'the oldest asker was forgotten');
});

test('a member whose clock is 75 s ahead is refused, and the log and skewOf say by how much, once a minute', (t) => {
  const w = world();
  for (const at of [0, 1_000, 2_000]) {
    const d = w.member.channel.seal(w.self.publicKey, gossip, NOW + at + 75_000);
    w.inbox.receive(d, MEMBER_AT, undefined, NOW + at);
  }
  t.is(w.delivered.length, 0);
  t.is(w.inbox.dropped.get('future'), 3);
  t.deepEqual(w.logs, [
    'messages from m refused: its clock is 75 s ahead of ours (overlay allows 60 s); set the clocks right (e.g. enable NTP on both machines)',
  ]);
  t.is(w.inbox.skewOf(encodeKey(w.member.publicKey), NOW + 2_000), 75_000);
  // Once its clock is right, it is heard and the skew is forgotten.
  w.inbox.receive(
    w.member.channel.seal(w.self.publicKey, gossip, NOW + 3_000),
    MEMBER_AT,
    undefined,
    NOW + 3_000,
  );
  t.is(w.delivered.length, 1);
  t.is(w.inbox.skewOf(encodeKey(w.member.publicKey), NOW + 3_000), undefined);
});

test("a joiner whose clock is 75 s behind the inviter's is told so, and no invite is spent", (t) => {
  const w = world();
  const joinerKeys = nacl.box.keyPair();
  const attempt = new JoinAttempt({
    invite: {
      inviteId: ID,
      secret: new Uint8Array(16),
      inviterKeyHash: inviterKeyHash(w.self.publicKey),
      endpoints: ['192.0.2.1:51820'],
    },
    keys: {
      wireguard: { privateKey: joinerKeys.secretKey, publicKey: joinerKeys.publicKey },
      signing: nacl.sign.keyPair(),
    },
    name: 'b',
    listenPort: 51820,
  });
  const joinerNow = NOW - 75_000;
  const query = attempt.start(joinerNow).send[0]!.bytes;
  w.inbox.receive(query, STRANGER_AT, undefined, NOW);
  const request = attempt.receive(w.sent.at(-1)!.bytes, '192.0.2.1:51820', joinerNow).send[0]!.bytes;
  w.inbox.receive(request, STRANGER_AT, undefined, NOW);
  t.is(w.redemptions(), 0);
  const end = attempt.receive(w.sent.at(-1)!.bytes, '192.0.2.1:51820', joinerNow);
  t.like(end.result, {
    ok: false,
    reason: 'rejected',
    rejectReason: 'clock-skew',
    detail: "this machine's clock is 75 s behind the inviter's (overlay allows 60 s)",
  });
});
