/**
 * What an admin's node does for others: issue invites and redeem them, add plain WireGuard
 * devices, and kick members. Each produces signed records that the node keeps and gossips.
 */
import nacl from 'tweetnacl';
import { bytesEqual } from '../base/bytes.js';
import { parseEndpoint } from '../base/endpoint.js';
import { encodeKey, parsePeerId, peerKey } from '../base/keys.js';
import { addressScope } from '../discovery/endpointClass.js';
import { OverlayError } from '../errors.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { formatSubnet } from '../membership/addressing.js';
import { admissionRefusal } from '../membership/admission.js';
import { certificateId, isMemberName, MEMBER_NAME_RULE } from '../membership/certificate.js';
import { endpointRecordId } from '../membership/endpointRecord.js';
import type { InviteBook, InviteSummary } from '../membership/inviteBook.js';
import { encodeInviteCode } from '../membership/inviteCode.js';
import { issueCertificate, kickMember } from '../membership/issue.js';
import { MembershipError } from '../membership/membershipError.js';
import type { Member, Roster } from '../membership/roster.js';
import { type JoinerInfo, MAX_ACCEPT_BYTES, type RedeemResult } from '../overlayWire/index.js';
import { TUN_MTU } from '../tunnel/mtu.js';
import { secureRandom } from '../wireguard/primitives.js';
import { encodeJoinAccept } from './joinAccept.js';
import type { NodeSettings } from './nodeState.js';

/**
 * What admitting and kicking need of the node: narrow, so they run (and are tested) without a
 * TUN device or root, and this module never imports the node. OverlayNode is one.
 */
export interface AdmittingNode {
  readonly roster: Roster;
  readonly invites: InviteBook;
  readonly settings: Pick<NodeSettings, 'network' | 'networkSecretKey'>;
  readonly identity: { readonly keys: { readonly signing: { readonly secretKey: Uint8Array } } };
  self(now?: number): Member;
  publish(record: GossipRecord): void;
  saveInvites(): void;
  log(line: string): void;
}

/** What issuing invites and WireGuard devices needs besides: where this node can be reached. */
export interface InvitingNode extends AdmittingNode {
  readonly identity: {
    readonly keys: {
      readonly signing: { readonly secretKey: Uint8Array; readonly publicKey: Uint8Array };
      readonly wireguard: { readonly publicKey: Uint8Array };
    };
  };
  /** Endpoints this node announces: where an invite's holder or a WireGuard device reaches it. */
  readonly endpoints: readonly string[];
}

/** The key this node signs certificates and revocations with: the network's if it holds it. */
function signer(node: AdmittingNode, now = Date.now()): Uint8Array {
  if (node.settings.networkSecretKey) return node.settings.networkSecretKey;
  if (!node.self(now).certificate.admin) {
    throw new OverlayError('ENOT_ADMIN', 'only an admin of the network can do this', {
      hint: 'ask an admin of the network',
    });
  }
  return node.identity.keys.signing.secretKey;
}

export interface CreatedInviteCode {
  code: string;
  id: string;
  expires: string;
  uses: number;
  endpoints: string[];
}

export function createInvite(
  node: InvitingNode,
  options: { expiresInMs: number; uses: number; label: string | null; admin?: boolean },
): CreatedInviteCode {
  signer(node); // admins only, before anything is written
  if (node.endpoints.length === 0) {
    throw new OverlayError('EUSAGE', 'this node knows no address others could reach it at', {
      hint: 'give one with overlay up --endpoint IP:PORT',
    });
  }
  const now = Date.now();
  const created = node.invites.create(
    {
      expiresAt: now + options.expiresInMs,
      uses: options.uses,
      label: options.label,
      admin: options.admin === true,
    },
    secureRandom,
  );
  try {
    const { code, endpoints } = encodeInviteCode({
      secret: created.secret,
      inviterWireguardKey: node.identity.keys.wireguard.publicKey,
      endpoints: node.endpoints,
    });
    node.saveInvites();
    return {
      code,
      id: created.id,
      expires: new Date(created.expiresAt).toISOString(),
      uses: created.uses,
      endpoints,
    };
  } finally {
    created.secret.fill(0);
  }
}

/**
 * The inviter's answer to a sealed join request (core/overlayWire's JoinResponder asks it, once the
 * request's signature has proved the joiner's signing key). Everything that could refuse the join
 * is checked before the invite's use is spent — the secret and the invite's state, the name, the
 * keys and name against everyone who holds them — and a use spent on an issue that then fails is
 * given back: a refused join leaves the invite as it was, and the joiner learns why.
 */
export function redeemInvite(
  node: AdmittingNode,
  id: string,
  secret: Uint8Array,
  joiner: JoinerInfo,
  now: number,
): RedeemResult {
  // The invite first: only a holder of its secret learns anything about names and keys.
  const invite = node.invites.check(id, secret, now);
  if (invite !== 'ok') return { ok: false, reason: invite };
  if (!isMemberName(joiner.name)) {
    return { ok: false, reason: 'bad-name', detail: `not a member name: use ${MEMBER_NAME_RULE}` };
  }
  const candidate = {
    name: joiner.name,
    wireguardKey: joiner.publicKey,
    signingKey: joiner.signingPublicKey,
  };
  const refusal = admissionRefusal(node.roster, candidate, now, node.invites.retired);
  if (refusal) {
    node.log(`join as ${joiner.name} refused (${refusal.reason}): ${refusal.detail}`);
    return { ok: false, reason: refusal.reason, detail: refusal.detail };
  }
  let signingKey: Uint8Array;
  let self: Member;
  try {
    self = node.self(now);
    signingKey = signer(node, now);
  } catch (e) {
    return {
      ok: false,
      reason: 'other',
      detail: e instanceof OverlayError ? e.message : 'the inviter failed',
    };
  }

  // Synchronous from here: nothing else can redeem between the check above and this spend.
  if (node.invites.redeem(id, secret, now) !== 'ok') return { ok: false, reason: 'other' };
  let issued: ReturnType<typeof issueCertificate>;
  try {
    // An admin invite (invite --admin) makes an admin: the founder is not the only one for ever.
    const admin = node.invites.grantsAdmin(id);
    issued = issueCertificate(node.roster, { kind: 'member', ...candidate, admin }, signingKey, {
      random: secureRandom,
      now,
      retired: node.invites.retired,
    });
  } catch (e) {
    node.invites.giveBack(id);
    node.log(`join as ${joiner.name} failed: ${e instanceof Error ? e.message : e}`);
    return {
      ok: false,
      reason: 'other',
      detail: e instanceof MembershipError ? e.message : 'the inviter failed',
    };
  }
  node.saveInvites();
  node.publish(issued.record);
  node.log(`joined: ${joiner.name} ${issued.certificate.ipv4} (invite ${id})`);
  // From the top down, so that each certificate's issuer is known when it is offered.
  const records = [
    ...issuerChain(node, self, now).reverse(),
    node.roster.get(certificateId(self.certificate)),
    issued.record,
    node.roster.get(endpointRecordId(self.certificate.signingKey!)),
  ];
  return {
    ok: true,
    acceptBytes: encodeJoinAccept(
      { network: node.settings.network, records: records.filter((r) => r !== undefined) },
      MAX_ACCEPT_BYTES,
    ),
  };
}

/** How many admins above us a join answer carries at most: admins invited by admins by admins... */
const MAX_ISSUER_CHAIN = 8;

/**
 * The certificates between ours and the network key: a joiner holds nothing yet, and takes our
 * certificate (and so its own) only with every admin's above it (invite --admin makes admins
 * whose certificates an admin, not the network key, signed).
 */
function issuerChain(node: Pick<AdmittingNode, 'roster' | 'settings'>, self: Member, now: number) {
  const records = [];
  let issuer = self.certificate.issuer;
  for (let depth = 0; depth < MAX_ISSUER_CHAIN && !bytesEqual(issuer, node.settings.network.key); depth++) {
    const above = node.roster.memberBySigningKey(issuer, now);
    if (!above) break;
    records.push(node.roster.get(certificateId(above.certificate)));
    issuer = above.certificate.issuer;
  }
  return records;
}

/** `overlay invite list`: this node's invites still open. */
export function listInvites(node: Pick<AdmittingNode, 'invites'>, now = Date.now()): InviteSummary[] {
  return node.invites.list(now);
}

/** `overlay invite revoke ID`: the invite can no longer be redeemed, and the book is saved. */
export function revokeInvite(
  node: Pick<AdmittingNode, 'invites' | 'saveInvites'>,
  id: string,
): { id: string; revoked: true } {
  if (!node.invites.revoke(id)) {
    throw new OverlayError('EUSAGE', `no invite has the id ${id}`, { hint: 'see overlay invite list' });
  }
  node.saveInvites();
  return { id, revoked: true };
}

/** Kicks `name`, and keeps its name and WireGuard key so that no invite admits them again. */
export function kick(node: AdmittingNode, name: string, now = Date.now()): { name: string } {
  if (node.self(now).certificate.name === name) {
    throw new OverlayError('EUSAGE', 'a node cannot kick itself', { hint: 'ask another admin' });
  }
  const kicked = node.roster.memberByName(name, now)?.certificate;
  const record = kickMember(node.roster, name, signer(node, now), now);
  if (kicked) {
    node.invites.retired.note(kicked);
    node.saveInvites();
  }
  node.publish(record);
  node.log(`kicked: ${name}`);
  return { name };
}

export interface WireguardDevice {
  name: string;
  config: string;
  address: string;
  /** The Endpoint the config gives the device, and whether it is a LAN address (reachable only there). */
  endpoint: string | null;
  endpointScope: 'lan' | 'public' | null;
  /** False with --pubkey: the device keeps its own private key. */
  privateKeyIncluded: boolean;
}

/**
 * `overlay invite --wireguard NAME`: a member for a device that only speaks WireGuard. Its key
 * pair is made here and leaves only in the config printed for it; this node is its one peer and
 * forwards between it and the mesh.
 */
export function addWireguardDevice(
  node: InvitingNode,
  name: string,
  publicKeyText?: string,
): WireguardDevice {
  // --pubkey: a device that made its own key pair; its private key never leaves it.
  const given = publicKeyText === undefined ? undefined : parsePeerId(publicKeyText.trim());
  if (publicKeyText !== undefined && given === undefined) {
    throw new OverlayError(
      'EUSAGE',
      `--pubkey ${JSON.stringify(publicKeyText)} is not a WireGuard public key`,
      {
        hint: 'the 44-character base64 key `wg pubkey` prints',
      },
    );
  }
  const now = Date.now();
  const self = node.self(now);
  const device = given === undefined ? nacl.box.keyPair() : undefined;
  const devicePublicKey = given === undefined ? device!.publicKey : peerKey(given);
  try {
    const issued = issueCertificate(
      node.roster,
      { kind: 'wireguard', name, wireguardKey: devicePublicKey, via: node.identity.keys.signing.publicKey },
      signer(node, now),
      { random: secureRandom, now, retired: node.invites.retired },
    );
    node.publish(issued.record);
    const network = node.settings.network;
    const endpoint = node.endpoints[0];
    const config = [
      '[Interface]',
      device
        ? `PrivateKey = ${encodeKey(device.secretKey)}`
        : '# PrivateKey = the private key this device made (its public key was given with --pubkey)',
      `Address = ${issued.certificate.ipv4}/32, ${issued.certificate.ipv6}/128`,
      `MTU = ${TUN_MTU}`,
      '',
      '[Peer]',
      `# ${self.certificate.name}, which carries this device to the rest of the network`,
      `PublicKey = ${encodeKey(node.identity.keys.wireguard.publicKey)}`,
      `AllowedIPs = ${formatSubnet(network.ipv4Subnet)}, ${formatSubnet(network.ipv6Subnet)}`,
      ...(endpoint ? [`Endpoint = ${endpoint}`] : []),
      'PersistentKeepalive = 25',
      '',
    ].join('\n');
    node.log(`wireguard device added: ${name} ${issued.certificate.ipv4}`);
    const ip = endpoint === undefined ? undefined : parseEndpoint(endpoint)?.address;
    return {
      name,
      config,
      address: issued.certificate.ipv4,
      endpoint: endpoint ?? null,
      endpointScope: ip === undefined ? null : addressScope(ip),
      privateKeyIncluded: device !== undefined,
    };
  } finally {
    device?.secretKey.fill(0);
  }
}
