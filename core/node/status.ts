/**
 * `overlay status --json`: this node and every other member as this node sees them. The shape
 * is an interface for scripts (issue 4 fixes its fields); add fields, never rename them.
 */
import { encodeKey, peerId } from '../base/keys.js';
import {
  BURST_OFFSETS_MS,
  type Filtering,
  IDLE_HEARTBEAT_MS,
  type MappingProtocol,
  type NatClassification,
  type NatReport,
  type PathReason,
  type PathSnapshot,
  PONG_TIMEOUT_MS,
} from '../discovery/index.js';
import type { Member } from '../membership/roster.js';
import type { PortMappingStatus } from '../portmap/portMapper.js';
import type { OverlayNode } from './node.js';
import type { NamesStatus } from './nodeDns.js';

export interface PeerStatus {
  name: string;
  addresses: string[];
  publicKey: string;
  online: boolean;
  path: 'direct' | 'relay' | null;
  via: string | null;
  endpoint: string | null;
  rttMs: number | null;
  lastHandshake: string | null;
  rxBytes: number;
  txBytes: number;
  kind: 'member' | 'wireguard';
  admin: boolean;
  /** When its certificate stops holding (ISO). */
  certExpires: string;
  /** Path evidence from discovery (issue 5): what was tried and how the path in use measures. */
  candidates?: {
    endpoint: string;
    kind?: string;
    result: string;
    rttMs?: number | null;
    /** When it last answered (ISO). */
    at?: string | null;
    /** When the member's last ping from this endpoint came (ISO): the path works its way at least. */
    heardAt?: string;
  }[];
  lossPct?: number | null;
  measuredAt?: string | null;
  directAfterMs?: number | null;
  /** Why discovery chose the path in use, in its words (core/discovery/pathTypes.ts PathReason). */
  pathReason?: PathReason;
  /** Relayed while the first burst's probes may still be answered: the path may yet go direct. */
  probing?: boolean;
  /**
   * The member's NAT as it classifies it and its port mapping, in its own pongs (its word: shown,
   * never used to choose a path); absent until it said. `natType` is the mapping alone.
   */
  nat?: NatReport;
  natType?: string;
  /**
   * How far its clock is from ours (ms, positive: ahead), while its messages are being refused
   * for it; absent when its clock is within the budget.
   */
  clockSkewMs?: number;
}

export interface NodeStatus {
  self: {
    name: string;
    /** The network's name (its zone: NAME.internal), by which a user finds its node (networks.ts). */
    network?: string;
    addresses: string[];
    publicKey: string;
    endpoints: string[];
    interface: string;
    listenPort: number;
    admin: boolean;
    uptimeS: number;
    /** The NAT in front of this node, as discovery infers it from what peers see: `nat.mapping`. */
    natType?: string;
    /**
     * The NAT in front of this node (issue 13, point 4): mapping and port preservation from what the
     * vantage points (members' pongs, STUN servers) see, the protocol mapping our port, and
     * whether a member's datagram from a port we never sent to got in (core/discovery/filterTest.ts;
     * null before a test concluded, absent from older nodes).
     */
    nat?: NatClassification & { portMapping: MappingProtocol | null; filtering?: Filtering | null };
    /** Whether this node relays between other members (false with --no-relay). */
    relay?: boolean;
    /** What each member may send through this node as its relay, Mbit/s (`up --relay-rate`). */
    relayRateMbit?: number;
    /** --stun servers, and where each sees this node (null: no answer yet, or it stopped answering). */
    stun?: { server: string; resolved: string | null; reflexive: string | null }[];
    /** The members' names: the zone, the resolver answering it, and the host's DNS (issue 14). */
    names?: NamesStatus;
    /**
     * Port mapping at the gateway (issue 13): which protocol forwards which external endpoint to
     * our UDP port, and what each protocol tried gave; absent with --port-mapping off.
     */
    portMapping?: PortMappingStatus;
  };
  peers: PeerStatus[];
  /**
   * The data path's traffic and drop counters, handshakes refused from non-members, and
   * overlay messages dropped by the node (`sealedDropped`, and by reason as `sealedDropped.REASON`),
   * and what discovery refused members (`discovery.unaskedIntroductions`, `.refusedProbes`, ...).
   */
  counters: Record<string, number>;
}

/**
 * A session this recent, or a message heard this recently, counts as online (whitepaper §6: 180 s).
 * An idle member is heard at least every IDLE_HEARTBEAT_MS (its pings, and its pongs to ours): the
 * window leaves a late timer on a loaded machine room before the member shows offline.
 */
const SESSION_FRESH_MS = 180_000;
const GOSSIP_FRESH_MS = IDLE_HEARTBEAT_MS + 15_000;

export function nodeStatus(node: OverlayNode): NodeStatus {
  const now = Date.now();
  const self = node.self(now);
  const nat = node.paths.natClassification();
  const members = node.roster.members(now);
  const nameBySigningKey = new Map(
    members
      .filter((m) => m.certificate.signingKey)
      .map((m) => [encodeKey(m.certificate.signingKey!), m.certificate.name]),
  );
  return {
    self: {
      name: self.certificate.name,
      network: node.settings.network.name,
      addresses: [self.certificate.ipv4, self.certificate.ipv6],
      publicKey: encodeKey(node.identity.keys.wireguard.publicKey),
      endpoints: [...node.endpoints],
      interface: node.interfaceName,
      listenPort: node.tunnel.port,
      admin: self.certificate.admin,
      uptimeS: Math.round((now - node.startedAt) / 1000),
      natType: nat.mapping,
      nat: { ...nat, portMapping: node.portMapper?.status().mapped?.protocol ?? null },
      relay: node.relays,
      ...(node.relays && { relayRateMbit: node.relayRateMbit }),
      ...(node.stun && { stun: node.stun.status() }),
      ...(node.names && { names: node.names.status() }),
      ...(node.portMapper && { portMapping: node.portMapper.status() }),
    },
    peers: members
      .filter((m) => m.subject !== self.subject)
      .map((m) => peerStatus(node, self, m, nameBySigningKey, now)),
    counters: { ...node.tunnel.stats(), ...inboxCounters(node) },
  };
}

function peerStatus(
  node: OverlayNode,
  self: Member,
  m: Member,
  names: Map<string, string>,
  now: number,
): PeerStatus {
  const c = m.certificate;
  const key = peerId(c.wireguardKey);
  const t = node.tunnel.peerStatus(c.wireguardKey);
  const heard = node.heard.lastHeardAt(key);
  const sessionFresh =
    t?.lastHandshakeAgeMs !== null &&
    t?.lastHandshakeAgeMs !== undefined &&
    t.lastHandshakeAgeMs < SESSION_FRESH_MS;
  const gossipFresh = heard !== undefined && now - heard < GOSSIP_FRESH_MS;
  // A device hosted by another member is reached through that member, never directly.
  const hostName = c.kind === 'wireguard' && c.via ? (names.get(encodeKey(c.via)) ?? null) : null;
  const hostedElsewhere = hostName !== null && hostName !== self.certificate.name;
  // Discovery's choice (issue 5): a member it routes through a relay shows as relayed via that relay.
  const snap = hostedElsewhere ? undefined : node.paths.snapshot(key);
  // A member that said bye (down) is offline from that moment, whatever its session's age says.
  const saidBye = snap?.path === 'none' && snap.reason === 'peer-left';
  const online = hostedElsewhere || saidBye ? false : sessionFresh || gossipFresh;
  const relayedVia = snap?.path === 'relay' ? (snap.viaName ?? snap.via ?? null) : null;
  const skew = node.heard.skewOf(key, now);
  const nat = hostedElsewhere ? undefined : node.paths.peerNatReport(key);
  return {
    name: c.name,
    addresses: [c.ipv4, c.ipv6],
    publicKey: key,
    online,
    // Direct only when discovery has a direct path (or, for a peer it does not track, when the
    // member is online): hearing a member's gossip is not a path for its traffic.
    path:
      hostedElsewhere || relayedVia !== null
        ? 'relay'
        : (snap ? snap.path === 'direct' : online)
          ? 'direct'
          : null,
    via: hostedElsewhere ? hostName : relayedVia,
    // An offline member has no path: no endpoint, no RTT (the last ones measured are history).
    endpoint: online ? (t?.endpoint ?? null) : null,
    // The path's RTT as discovery keeps measuring it; before discovery has one, the handshake's.
    rttMs: online ? roundRtt(snap?.rttMs ?? t?.rttMs ?? null) : null,
    lastHandshake:
      t?.lastHandshakeAgeMs === null || t?.lastHandshakeAgeMs === undefined
        ? null
        : new Date(now - t.lastHandshakeAgeMs).toISOString(),
    rxBytes: t?.rxBytes ?? 0,
    txBytes: t?.txBytes ?? 0,
    kind: c.kind,
    admin: c.admin,
    certExpires: new Date(c.notAfter).toISOString(),
    ...(snap && evidence(snap, now)),
    ...(nat && { nat, natType: nat.mapping }),
    ...(skew !== undefined && { clockSkewMs: skew }),
  };
}

function inboxCounters(node: OverlayNode): Record<string, number> {
  const drops = node.heard.drops();
  const out: Record<string, number> = { sealedDropped: drops.total };
  for (const [reason, n] of drops.byReason) out[`sealedDropped.${reason}`] = n;
  for (const [name, n] of Object.entries(node.paths.probeCounters())) out[`discovery.${name}`] = n;
  if (node.names) Object.assign(out, node.names.counters());
  return out;
}

function roundRtt(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 100) / 100;
}

const STATE_TEXT = { ok: 'ok', idle: 'idle', 'no-answer': 'no answer', untried: 'not tried yet' } as const;

function evidence(snap: PathSnapshot, now: number): Partial<PeerStatus> {
  return {
    candidates: snap.candidates.map((c) => ({
      // A relay route is named by its member's name ("via p"), as discovery describes it.
      endpoint: c.endpoint,
      kind: c.kind,
      result: STATE_TEXT[c.state as keyof typeof STATE_TEXT] ?? c.state,
      rttMs: c.rttMs ?? null,
      at: c.lastAnswerAgeMs === undefined ? null : new Date(now - c.lastAnswerAgeMs).toISOString(),
      ...(c.lastHeardAgeMs !== undefined && { heardAt: new Date(now - c.lastHeardAgeMs).toISOString() }),
    })),
    lossPct: snap.lossPct ?? null,
    measuredAt: snap.evidenceAgeMs === undefined ? null : new Date(now - snap.evidenceAgeMs).toISOString(),
    directAfterMs: snap.timeToDirectMs ?? null,
    pathReason: snap.reason,
    probing:
      snap.path === 'relay' &&
      snap.reason === 'relay-while-probing' &&
      snap.sinceMs <= BURST_OFFSETS_MS[BURST_OFFSETS_MS.length - 1]! + PONG_TIMEOUT_MS,
  };
}
