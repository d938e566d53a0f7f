/**
 * A NAT in words, from what `overlay status` reports of it: this node's classification (self.nat,
 * from the vantage points that saw it) or what a member says of its own NAT (peer.nat). Says what is
 * measured and how well, never more: one vantage point tells whether the port was kept, not how the
 * NAT maps (core/discovery/natBehaviour.ts). Filtering, this node's only (core/discovery/filterTest.ts):
 * "inbound open" when a member's datagram from a port we never sent to got in; when it did not,
 * "firewall" if the router dropped it without a trace, "no firewall" if it kept it as a connection of
 * its own (and gave our next flow to that pair another port), "inbound filtered" if which is unknown.
 */
import type { ViewPeer, ViewStatus } from './evidence.js';

type SelfNat = NonNullable<ViewStatus['self']['nat']>;
type PeerNat = NonNullable<ViewPeer['nat']>;

export const PROTOCOL_NAMES = { pcp: 'PCP', 'nat-pmp': 'NAT-PMP', upnp: 'UPnP' } as const;

const MAPPING_WORDS: Record<string, string> = {
  none: 'none',
  'endpoint-independent': 'endpoint-independent',
  'endpoint-dependent': 'a port per destination',
};

export const FILTER_WORDS = {
  open: 'inbound open',
  firewall: 'inbound filtered, firewall',
  'no-firewall': 'inbound filtered, no firewall',
  filtered: 'inbound filtered',
} as const;

/**
 * "endpoint-independent, port kept, UPnP maps a port" and the like; null when nothing is known
 * (no vantage point saw this node, or the member said nothing of its NAT).
 */
export function natText(nat: SelfNat | PeerNat | undefined, natType?: string | null): string | null {
  if (nat === undefined) return natType && natType !== 'unknown' ? natType : null;
  const seenBy = 'vantagePoints' in nat ? nat.vantagePoints : undefined;
  const parts: string[] = [];
  if (nat.mapping !== 'unknown') parts.push(MAPPING_WORDS[nat.mapping] ?? nat.mapping);
  else if (seenBy !== undefined && seenBy >= 2)
    parts.push(`seen at several public addresses by ${seenBy} vantage points`);
  if (nat.mapping !== 'none' && nat.portKept !== null)
    parts.push(nat.portKept ? 'port kept' : 'port changed');
  if ('portTakenToward' in nat && nat.portTakenToward > 0)
    parts.push(`port taken toward ${nat.portTakenToward} (another mapping held it first)`);
  if (nat.mapping === 'unknown' && seenBy === 1) parts.push('seen by 1 vantage point (2 tell the mapping)');
  if ('filtering' in nat && nat.filtering) parts.push(FILTER_WORDS[nat.filtering]);
  if (nat.portMapping) parts.push(`${PROTOCOL_NAMES[nat.portMapping]} maps a port`);
  return parts.length === 0 ? null : parts.join(', ');
}

/** Whether a NAT gives each destination its own port (so holes punched for others are useless). */
export function mapsPerDestination(nat: SelfNat | PeerNat | undefined, natType?: string | null): boolean {
  return (nat?.mapping ?? natType) === 'endpoint-dependent';
}
