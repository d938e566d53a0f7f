/**
 * What an admin's node does for others: issue invites and redeem them, add plain WireGuard
 * devices, and kick members. Each produces signed records that the node keeps and gossips.
 */
import nacl from 'tweetnacl';
import { OverlayError } from '../errors.js';
import { encodeKey } from '../identity/keys.js';
import { formatSubnet } from '../membership/addressing.js';
import { encodeInviteCode } from '../membership/inviteCode.js';
import { issueCertificate, kickMember } from '../membership/issue.js';
import { MembershipError } from '../membership/membershipError.js';
import { type JoinerInfo, MAX_ACCEPT_BYTES, type RedeemResult } from '../overlayWire/index.js';
import { secureRandom } from '../wireguard/primitives.js';
import { encodeJoinAccept } from './joinAccept.js';
import type { OverlayNode } from './node.js';

/** The key this node signs certificates and revocations with: the network's if it holds it. */
function signer(node: OverlayNode): Uint8Array {
  if (node.settings.networkSecretKey) return node.settings.networkSecretKey;
  if (!node.self().certificate.admin) {
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
  node: OverlayNode,
  options: { expiresInMs: number; uses: number; label: string | null },
): CreatedInviteCode {
  signer(node); // admins only, before anything is written
  if (node.endpoints.length === 0) {
    throw new OverlayError('EUSAGE', 'this node knows no address others could reach it at', {
      hint: 'give one with overlay init --endpoint IP:PORT',
    });
  }
  const now = Date.now();
  const created = node.invites.create(
    { expiresAt: now + options.expiresInMs, uses: options.uses, label: options.label },
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

/** The inviter's answer to a sealed join request (core/overlayWire's JoinResponder asks it). */
export function redeemInvite(
  node: OverlayNode,
  id: string,
  secret: Uint8Array,
  joiner: JoinerInfo,
  now: number,
): RedeemResult {
  const taken = node.roster.memberByName(joiner.name, now);
  if (taken && encodeKey(taken.certificate.wireguardKey) !== encodeKey(joiner.publicKey)) {
    // Checked before the invite is spent, so the joiner can retry under another name.
    return { ok: false, reason: 'name-taken', detail: `"${joiner.name}" is taken` };
  }
  const result = node.invites.redeem(id, secret, now);
  if (result !== 'ok') return { ok: false, reason: result };
  node.saveInvites();
  try {
    const issued = issueCertificate(
      node.roster,
      {
        kind: 'member',
        name: joiner.name,
        wireguardKey: joiner.publicKey,
        signingKey: joiner.signingPublicKey,
      },
      signer(node),
      { random: secureRandom, now },
    );
    node.publish(issued.record);
    node.log(`joined: ${joiner.name} ${issued.certificate.ipv4} (invite ${id})`);
    const self = node.self(now);
    const records = [
      issued.record,
      node.roster.get(`cert:${self.subject}`),
      node.roster.get(`endpoints:${self.subject}`),
    ];
    return {
      ok: true,
      acceptBytes: encodeJoinAccept(
        { network: node.settings.network, records: records.filter((r) => r !== undefined) },
        MAX_ACCEPT_BYTES,
      ),
    };
  } catch (e) {
    node.log(`join of ${joiner.name} failed: ${e instanceof Error ? e.message : e}`);
    return {
      ok: false,
      reason: 'other',
      detail: e instanceof MembershipError ? e.message : 'the inviter failed',
    };
  }
}

export function kick(node: OverlayNode, name: string): { name: string } {
  const now = Date.now();
  if (node.self(now).certificate.name === name) {
    throw new OverlayError('EUSAGE', 'a node cannot kick itself', { hint: 'ask another admin' });
  }
  node.publish(kickMember(node.roster, name, signer(node), now));
  node.log(`kicked: ${name}`);
  return { name };
}

export interface WireguardDevice {
  name: string;
  config: string;
  address: string;
}

/**
 * `overlay invite --wireguard NAME`: a member for a device that only speaks WireGuard. Its key
 * pair is made here and leaves only in the config printed for it; this node is its one peer and
 * forwards between it and the mesh.
 */
export function addWireguardDevice(node: OverlayNode, name: string): WireguardDevice {
  const now = Date.now();
  const self = node.self(now);
  const device = nacl.box.keyPair();
  try {
    const issued = issueCertificate(
      node.roster,
      { kind: 'wireguard', name, wireguardKey: device.publicKey, via: node.identity.keys.signing.publicKey },
      signer(node),
      { random: secureRandom, now },
    );
    node.publish(issued.record);
    const network = node.settings.network;
    const endpoint = node.endpoints[0];
    const config = [
      '[Interface]',
      `PrivateKey = ${encodeKey(device.secretKey)}`,
      `Address = ${issued.certificate.ipv4}/32, ${issued.certificate.ipv6}/128`,
      'MTU = 1420',
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
    return { name, config, address: issued.certificate.ipv4 };
  } finally {
    device.secretKey.fill(0);
  }
}
