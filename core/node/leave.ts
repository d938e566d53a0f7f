/**
 * `overlay leave` on a running node: this member signs its own revocation (standing.ts, rule 2b)
 * and hands it to every member it reaches, a few times over in case one copy is lost. Each member
 * that takes it spreads it on, so members away now learn it by gossip when they return. The CLI
 * stops the node next and removes the network's state (cli/commands/leave.ts).
 */
import { bytesEqual } from '../base/bytes.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { selfRevocation } from '../membership/issue.js';
import type { Member, Roster } from '../membership/roster.js';

/** Copies sent to each member, this far apart: one lost datagram must not keep a member uninformed. */
export const LEAVE_COPIES = 3;
export const LEAVE_COPY_SPACING_MS = 150;

export interface LeavingNode {
  readonly roster: { readonly network: { readonly key: Uint8Array } };
  readonly identity: { readonly keys: { readonly signing: { readonly secretKey: Uint8Array } } };
  self(now?: number): Member;
  /** Sends the record to every member reachable now; how many (rosterGossip.ts). */
  tellEveryone(record: GossipRecord): number;
  log(line: string): void;
}

export interface LeaveResult {
  /** This member's name; null when it was no longer a member (kicked, or expired). */
  name: string | null;
  /** How many members it told (0 when none was reachable, or it was no longer a member). */
  told: number;
}

export async function leaveNetwork(
  node: LeavingNode,
  options: { copies?: number; spacingMs?: number } = {},
): Promise<LeaveResult> {
  const now = Date.now();
  let self: Member;
  try {
    self = node.self(now);
  } catch {
    // Kicked or expired: the members already count it out; there is nothing to tell.
    return { name: null, told: 0 };
  }
  const record = selfRevocation(node.roster.network.key, node.identity.keys.signing.secretKey, now);
  let told = 0;
  const copies = options.copies ?? LEAVE_COPIES;
  for (let i = 0; i < copies; i++) {
    if (i > 0)
      await new Promise((resolve) => setTimeout(resolve, options.spacingMs ?? LEAVE_COPY_SPACING_MS));
    told = Math.max(told, node.tellEveryone(record));
  }
  node.log(`leaving the network: told ${told} member${told === 1 ? '' : 's'}`);
  return { name: self.certificate.name, told };
}

/** What leaving would take with it, beyond this member: why `leave` asks for --force. */
export interface LeaveCost {
  /** This node holds the network key: with it go kicks by the network key and settling admins' fights. */
  holdsNetworkKey: boolean;
  /** Members and devices whose certificate chain runs through this member's: they go out with it. */
  admitted: string[];
  /** Devices that reach the network only through this node (invite --wireguard): cut off. */
  carried: string[];
}

/** The chain above a certificate is at most this long (certificateChain.ts bounds it lower). */
const MAX_CHAIN_WALK = 16;

export function leaveCost(
  roster: Pick<Roster, 'members' | 'memberBySigningKey' | 'network'>,
  holdsNetworkKey: boolean,
  selfSigningKey: Uint8Array,
  now: number,
): LeaveCost {
  const admitted: string[] = [];
  const carried: string[] = [];
  for (const m of roster.members(now)) {
    const cert = m.certificate;
    if (cert.signingKey && bytesEqual(cert.signingKey, selfSigningKey)) continue;
    if (cert.via && bytesEqual(cert.via, selfSigningKey)) carried.push(cert.name);
    let issuer = cert.issuer;
    for (let depth = 0; depth < MAX_CHAIN_WALK && !bytesEqual(issuer, roster.network.key); depth++) {
      if (bytesEqual(issuer, selfSigningKey)) {
        admitted.push(cert.name);
        break;
      }
      const above = roster.memberBySigningKey(issuer, now);
      if (!above) break;
      issuer = above.certificate.issuer;
    }
  }
  return { holdsNetworkKey, admitted: admitted.sort(), carried: carried.sort() };
}
