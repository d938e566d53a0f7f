/**
 * An inviter without root: a real roster, a real invite book and the node's real redeemInvite,
 * behind the same JoinResponder a running node uses. The founder (holder of the network key)
 * invites; alice is an admin it admitted, and carol and dave are members alice admitted — the
 * members an attacker who takes over alice's certificate would cut off.
 */
import { encodeKey } from '../../core/base/keys.js';
import type { GossipRecord } from '../../core/gossip/recordStore.js';
import { InviteBook } from '../../core/membership/inviteBook.js';
import { issueCertificate } from '../../core/membership/issue.js';
import { type AdmittingNode, redeemInvite } from '../../core/node/admin.js';
import { JoinResponder } from '../../core/overlayWire/joinResponder.js';
import { HOUR, makeNetwork, makeNode, NOW, type TestNetwork, type TestNode } from '../membership/fixtures.js';

export { HOUR, NOW };

const DAY = 24 * HOUR;

export interface InviterWorld {
  readonly net: TestNetwork;
  readonly alice: TestNode;
  readonly admitted: readonly TestNode[];
  readonly invites: InviteBook;
  readonly invite: { id: string; secret: Uint8Array };
  readonly inviterKey: Uint8Array;
  readonly node: AdmittingNode;
  readonly responder: JoinResponder;
  readonly published: GossipRecord[];
  readonly logs: string[];
}

export function inviterWorld(options: { seed?: number; uses?: number; subnet?: string } = {}): InviterWorld {
  const net = makeNetwork(options.seed ?? 7, options.subnet);
  const { random } = net;
  const member = (node: TestNode, admin = false) => ({
    kind: 'member' as const,
    name: node.name,
    wireguardKey: node.wireguard.publicKey,
    signingKey: node.signing.publicKey,
    admin,
  });
  const alice = makeNode('alice', random);
  issueCertificate(net.roster, member(alice, true), net.networkKey.secretKey, { random, now: NOW });
  const admitted = [makeNode('carol', random), makeNode('dave', random)];
  for (const m of admitted)
    issueCertificate(net.roster, member(m), alice.signing.secretKey, { random, now: NOW });
  const invites = new InviteBook();
  const created = invites.create({ expiresAt: NOW + DAY, uses: options.uses ?? 2, label: null }, random);
  const published: GossipRecord[] = [];
  const logs: string[] = [];
  const node: AdmittingNode = {
    roster: net.roster,
    invites,
    settings: { network: net.network, networkSecretKey: net.networkKey.secretKey },
    identity: { keys: { signing: net.founder.signing } },
    self: (now = NOW) => net.roster.memberBySigningKey(net.founder.signing.publicKey, now)!,
    publish: (record: GossipRecord) => void published.push(record),
    saveInvites: () => undefined,
    log: (line: string) => void logs.push(line),
  };
  const inviterKey = net.founder.wireguard.publicKey;
  const responder = new JoinResponder({
    publicKey: inviterKey,
    isKnownInvite: (id) => invites.has(id),
    redeem: (id, secret, joiner, now) => redeemInvite(node, id, secret, joiner, now),
  });
  return {
    net,
    alice,
    admitted,
    invites,
    invite: { id: created.id, secret: created.secret },
    inviterKey,
    node,
    responder,
    published,
    logs,
  };
}

/** The stored bytes of a member's certificate, by its signing key (undefined if none is held). */
export function certificateBytes(world: InviterWorld, node: TestNode): Uint8Array | undefined {
  return world.net.roster.get(`cert:${encodeKey(node.signing.publicKey)}`)?.bytes;
}

export function usesLeft(world: InviterWorld, now = NOW): number {
  return world.invites.list(now).find((i) => i.id === world.invite.id)!.usesLeft;
}
