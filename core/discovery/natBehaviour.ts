/**
 * What kind of NAT we sit behind, inferred from where vantage points see us: members' pongs
 * (`observed`) and STUN servers (--stun), one vantage point per public IP.
 *
 * RFC 4787 §4.1 names the property that decides hole punching: a NAT with endpoint-independent
 * mapping gives our socket one public ip:port whatever the destination, so a peer that learns it from
 * a third member can reach us there; one with endpoint-dependent mapping (iptables MASQUERADE
 * --random-fully, many carrier NATs) picks a new port per destination, so the address a third member
 * saw is useless to anyone else and a relay is the likely outcome. Two vantage points at different
 * public IPs seeing us at the same ip:port prove the first; at different ports, the second.
 *
 * RFC 4787 §4.1 also names port preservation ("port kept"): the NAT maps our listen port to the same
 * port outside when it is free. Seen by every vantage point at our own port, the NAT keeps ports; seen
 * at our own port by some and at another by others, it keeps them but the tuple toward those others
 * was already taken (another host behind this NAT using the same port, or a stray inbound probe an
 * unfiltered NAT let create state first, issue 13 point 1): that NAT still maps independently of the
 * destination wherever it can, which is what punching needs.
 *
 * Filtering (RFC 4787 §5, "firewall or none") is not in this class: telling it needs a packet from an
 * address we never sent to (RFC 5780's CHANGE-REQUEST), and neither members (one address each) nor
 * plain STUN servers send one. The classification says "unknown" for it rather than guess.
 */

import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import { MAX_NAT_OBSERVATIONS, REFLEXIVE_TTL_MS } from './constants.js';

export type NatBehaviour = 'none' | 'endpoint-independent' | 'endpoint-dependent' | 'unknown';

/** What the vantage points' observations say of our NAT (display only: no path decision reads it). */
export interface NatClassification {
  /** 'none': peers see our own address. 'unknown': fewer than 2 vantage points, or several public IPs. */
  readonly mapping: NatBehaviour;
  /**
   * Whether outside our port stays our listen port: toward every vantage point (true), toward none
   * (false); null before any vantage point saw us behind a NAT, or while our port is not known.
   */
  readonly portKept: boolean | null;
  /** Vantage points (distinct public IPs: members, STUN servers) whose view of us is fresh. */
  readonly vantagePoints: number;
  /**
   * Vantage points that see us at another port while most see our own: a port-keeping NAT whose
   * tuple toward those was taken (the mapping is then endpoint-independent wherever it can be).
   */
  readonly portTakenToward: number;
}

interface Observation {
  readonly observed: Endpoint;
  readonly at: number;
}

export class NatInference {
  /** Vantage point's public IP → where it last saw us. One per IP: two sockets behind one IP prove nothing. */
  private readonly byPeerIp = new Map<string, Observation>();
  private sawUnmapped = false;
  /** Our listen port, from our interface candidates: what "port kept" compares with. */
  private localPort: number | undefined;
  private noFirewall = false;

  /**
   * A vantage point at `peerIp` (a public address: observations across a LAN say nothing of the NAT)
   * saw us at `observed`; `local` are our interface candidates.
   */
  note(peerIp: string, observed: Endpoint, local: readonly Endpoint[], now: number): void {
    const port = local[0]?.port;
    if (port !== undefined) this.localPort = port;
    if (local.some((l) => sameEndpoint(l, observed))) {
      this.sawUnmapped = true;
      return;
    }
    this.byPeerIp.delete(peerIp);
    this.byPeerIp.set(peerIp, { observed, at: now });
    while (this.byPeerIp.size > MAX_NAT_OBSERVATIONS) {
      this.byPeerIp.delete(this.byPeerIp.keys().next().value!);
    }
  }

  /** Our interfaces changed: what peers saw before may describe another network. */
  reset(): void {
    this.byPeerIp.clear();
    this.sawUnmapped = false;
  }

  /**
   * Our NAT was found to have no firewall (filterTest.ts): it keeps what it was not asked for, so a
   * tuple of ours is taken whenever a member's packet reaches it first, as often as not. Then ports
   * other than ours are explained by that, once any vantage point sees our own port: a NAT that
   * gives each destination a port of its own (--random-fully) gives ours to none.
   */
  noteNoFirewall(noFirewall: boolean): void {
    this.noFirewall = noFirewall;
  }

  /** Our listen port, once our interface candidates said it. */
  get listenPort(): number | undefined {
    return this.localPort;
  }

  /** Vantage points that see us at our own port. */
  keptToward(now: number): number {
    const own = this.localPort;
    return own === undefined ? 0 : this.fresh(now).filter((p) => p.port === own).length;
  }

  /** The mapping as discovery uses it (which reflexive addresses to announce, birthday's roles). */
  behaviour(now: number): NatBehaviour {
    const raw = this.rawBehaviour(now);
    return raw === 'endpoint-dependent' && this.noFirewall && this.keptToward(now) > 0
      ? 'endpoint-independent'
      : raw;
  }

  private rawBehaviour(now: number): NatBehaviour {
    const fresh = this.fresh(now);
    if (fresh.length === 0) return this.sawUnmapped ? 'none' : 'unknown';
    if (fresh.length < 2) return 'unknown';
    const ips = new Set(fresh.map((p) => p.address));
    // Seen at several public IPs: several uplinks or a NAT pool; nothing to conclude about ports.
    if (ips.size !== 1) return 'unknown';
    const ports = new Set(fresh.map((p) => p.port));
    return ports.size === 1 ? 'endpoint-independent' : 'endpoint-dependent';
  }

  /** Mapping, port preservation and how many vantage points say so, for `overlay status`. */
  classify(now: number): NatClassification {
    const fresh = this.fresh(now);
    if (fresh.length === 0) {
      return {
        mapping: this.sawUnmapped ? 'none' : 'unknown',
        portKept: null,
        vantagePoints: 0,
        portTakenToward: 0,
      };
    }
    const own = this.localPort;
    const kept = own === undefined ? 0 : fresh.filter((p) => p.port === own).length;
    const portKept = own === undefined || (kept > 0 && kept < fresh.length) ? null : kept > 0;
    let mapping = this.rawBehaviour(now);
    // Our own port toward most, another toward the rest, at one public IP: a port-keeping NAT whose
    // tuple toward those was taken. It maps independently of the destination wherever it can. An
    // even split proves nothing (a NAT may keep the port for its first destination only), unless
    // the NAT is known to keep what it was not asked for (noteNoFirewall).
    const takes = 2 * kept > fresh.length || (this.noFirewall && kept > 0);
    const taken = mapping === 'endpoint-dependent' && takes ? fresh.length - kept : 0;
    if (taken > 0) mapping = 'endpoint-independent';
    return {
      mapping,
      portKept: taken > 0 ? true : portKept,
      vantagePoints: fresh.length,
      portTakenToward: taken,
    };
  }

  private fresh(now: number): Endpoint[] {
    return [...this.byPeerIp.values()].filter((o) => now - o.at <= REFLEXIVE_TTL_MS).map((o) => o.observed);
  }
}

/** The port-mapping protocols a router may offer (core/portmap): a member says which maps its port. */
export type MappingProtocol = 'pcp' | 'nat-pmp' | 'upnp';

/**
 * What a member says of its own NAT, in its pongs: its classification and the port mapping its
 * router gave it. A member's word about itself, shown in the status view; no path decision reads it.
 */
export interface NatReport {
  readonly mapping: NatBehaviour;
  readonly portKept: boolean | null;
  readonly portMapping: MappingProtocol | null;
}

const MAPPINGS: readonly NatBehaviour[] = ['unknown', 'none', 'endpoint-independent', 'endpoint-dependent'];
const KEPT: readonly (boolean | null)[] = [null, true, false];
const PROTOCOLS: readonly (MappingProtocol | null)[] = [null, 'pcp', 'nat-pmp', 'upnp'];

/** One byte on the wire: bits 0–1 mapping, 2–3 port kept, 4–5 port mapping, 6–7 zero. */
export function natReportByte(r: NatReport): number {
  return (
    MAPPINGS.indexOf(r.mapping) | (KEPT.indexOf(r.portKept) << 2) | (PROTOCOLS.indexOf(r.portMapping) << 4)
  );
}

/** The report a byte carries; undefined for a byte no version of ours writes. */
export function natReportOf(byte: number): NatReport | undefined {
  const kept = KEPT[(byte >> 2) & 3];
  if (byte > 0x3f || kept === undefined) return undefined;
  return { mapping: MAPPINGS[byte & 3]!, portKept: kept, portMapping: PROTOCOLS[(byte >> 4) & 3]! };
}
