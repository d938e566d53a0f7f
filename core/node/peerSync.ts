/**
 * Which WireGuard peers the node's tunnel should have, from the roster: every valid member but
 * this node, each routed to its own addresses plus those of the plain WireGuard devices it hosts;
 * the devices this node hosts are peers too, marked for forwarding. A node completes handshakes
 * only with these peers, so a member that is revoked or expires is cut off by the next sync.
 */

import { bytesEqual } from '../base/bytes.js';
import type { Endpoint } from '../base/endpoint.js';
import { encodeKey, type PeerId, peerId } from '../base/keys.js';
import { behindNat, parseCandidate, tooEarlyFor } from '../discovery/index.js';
import { ENDPOINT_RECORD_PREFIX } from '../membership/endpointRecord.js';
import type { Member, Roster } from '../membership/roster.js';
import type { Tunnel } from '../tunnel/tunnel.js';

export interface DesiredPeer {
  member: Member;
  publicKey: Uint8Array;
  allowedIps: string[];
  /** Where the tunnel sends before discovery chose: the record's first endpoint, unless too early. */
  endpoint: Endpoint | undefined;
  forward: boolean;
  /** The member's record's endpoints, and those of them its gateway forwards (port mapping), parsed. */
  candidates: readonly Endpoint[];
  mapped: readonly Endpoint[];
}

/**
 * A member's record's endpoints as `Endpoint`s: the gossip record's text is parsed here, where the
 * node takes it from the roster, once per list (kept by the list, which is the record's own and
 * lives as long as it), so discovery sees the same lists from one sync to the next.
 */
const parsedLists = new WeakMap<readonly string[], Endpoint[]>();

function parsedList(list: readonly string[]): Endpoint[] {
  let parsed = parsedLists.get(list);
  if (parsed === undefined) {
    // The record's decoder accepted only canonical endpoints (endpointRecord.ts): none is dropped here.
    parsed = list.map(parseCandidate).filter((e) => e !== undefined);
    parsedLists.set(list, parsed);
  }
  return parsed;
}

export function memberEndpoints(m: Member): { candidates: Endpoint[]; mapped: Endpoint[] } {
  return { candidates: parsedList(m.endpoints), mapped: parsedList(m.mappedEndpoints) };
}

/** A member's overlay addresses as host prefixes: a peer's allowed IPs, or our own (startTunnel). */
export function hostAddresses(m: Member): string[] {
  return [`${m.certificate.ipv4}/32`, `${m.certificate.ipv6}/128`];
}

export function desiredPeers(roster: Roster, self: Member, now: number): Map<PeerId, DesiredPeer> {
  const members = roster.members(now);
  const selfSigning = self.certificate.signingKey ? encodeKey(self.certificate.signingKey) : '';
  const hostedBy = new Map<string, Member[]>();
  for (const m of members) {
    if (m.certificate.kind !== 'wireguard' || !m.certificate.via) continue;
    const via = encodeKey(m.certificate.via);
    hostedBy.set(via, [...(hostedBy.get(via) ?? []), m]);
  }
  const out = new Map<PeerId, DesiredPeer>();
  const natToNat = behindNat(memberEndpoints(self).candidates);
  for (const m of members) {
    if (m.subject === self.subject) continue;
    const key = peerId(m.certificate.wireguardKey);
    if (m.certificate.kind === 'wireguard') {
      // Reached through its host: only the host has it as a peer.
      if (m.certificate.via && encodeKey(m.certificate.via) === selfSigning) {
        out.set(key, {
          member: m,
          publicKey: m.certificate.wireguardKey,
          allowedIps: hostAddresses(m),
          endpoint: undefined,
          forward: true,
          candidates: [],
          mapped: [],
        });
      }
      continue;
    }
    const hosted = m.certificate.signingKey ? (hostedBy.get(encodeKey(m.certificate.signingKey)) ?? []) : [];
    const { candidates, mapped } = memberEndpoints(m);
    const first = candidates[0];
    out.set(key, {
      member: m,
      publicKey: m.certificate.wireguardKey,
      allowedIps: [...hostAddresses(m), ...hosted.flatMap(hostAddresses)],
      // Both behind NATs: its public address waits for discovery (a packet there too early would
      // take the pair of addresses its hole needs, core/discovery/opening.ts); a relay comes at once.
      // A private address cannot reach its NAT, so it is kept (members on one LAN).
      // A public member keeps it: the NATed member reached it first, and after a restart it must
      // reach the members it relays for at once.
      endpoint: natToNat && first !== undefined && tooEarlyFor(candidates, first) ? undefined : first,
      forward: false,
      candidates,
      mapped,
    });
  }
  return out;
}

/** What a sync did, for the log. */
export interface SyncResult {
  added: string[];
  removed: string[];
}

/**
 * Brings the tunnel's peers in line with `desired`. `current` is the node's own record of what it
 * configured (name and settings by key), updated in place.
 */
export function syncPeers(
  tunnel: Tunnel,
  desired: ReadonlyMap<PeerId, DesiredPeer>,
  current: Map<PeerId, DesiredPeer>,
): SyncResult {
  const result: SyncResult = { added: [], removed: [] };
  for (const [key, had] of current) {
    const want = desired.get(key);
    if (!want) {
      tunnel.removePeer(had.publicKey);
      current.delete(key);
      result.removed.push(had.member.certificate.name);
    } else if (want.allowedIps.join() !== had.allowedIps.join() || want.forward !== had.forward) {
      // A device joined or left behind this member: new routes, same sessions.
      tunnel.setPeerRoutes(want.publicKey, want.allowedIps, want.forward);
      current.set(key, { ...had, allowedIps: want.allowedIps, forward: want.forward });
    }
  }
  for (const [key, want] of desired) {
    const had = current.get(key);
    if (!had) {
      tunnel.addPeer({
        publicKey: want.publicKey,
        allowedIps: want.allowedIps,
        endpoint: want.endpoint,
        forward: want.forward,
      });
      current.set(key, want);
      result.added.push(want.member.certificate.name);
    } else if (want.member !== had.member) {
      // New certificate or endpoint record: keep it; where traffic goes is discovery's choice.
      current.set(key, { ...had, member: want.member, candidates: want.candidates, mapped: want.mapped });
    }
  }
  return result;
}

/**
 * Whether `record` (an endpoint record gossip accepted) names a relay epoch other than the one its
 * member's peer has now: that member started again, and its relayed traffic waits on the new key.
 */
export function announcesNewEpoch(
  roster: Roster,
  synced: ReadonlyMap<PeerId, DesiredPeer>,
  record: { id: string },
  now: number,
): boolean {
  const member = roster.memberBySubject(record.id.slice(ENDPOINT_RECORD_PREFIX.length), now);
  const peer = member && synced.get(peerId(member.certificate.wireguardKey));
  return (
    !!peer && !bytesEqual(peer.member.relayEpoch ?? new Uint8Array(), member.relayEpoch ?? new Uint8Array())
  );
}
