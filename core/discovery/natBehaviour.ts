/**
 * What kind of NAT we sit behind, inferred from where peers see us (their pongs' `observed`).
 *
 * RFC 4787 §4.1 names the property that decides hole punching: a NAT with endpoint-independent
 * mapping gives our socket one public ip:port whatever the destination, so a peer that learns it from
 * a third member can reach us there; one with endpoint-dependent mapping (iptables MASQUERADE
 * --random-fully, many carrier NATs) picks a new port per destination, so the address a third member
 * saw is useless to anyone else and a relay is the likely outcome. Two peers at different public IPs
 * seeing us at the same ip:port prove the first; at different ports, the second.
 */
import { MAX_NAT_OBSERVATIONS, REFLEXIVE_TTL_MS } from './constants.js';
import { parseCandidate } from './endpointClass.js';

export type NatBehaviour = 'none' | 'endpoint-independent' | 'endpoint-dependent' | 'unknown';

interface Observation {
  readonly observed: string;
  readonly at: number;
}

export class NatInference {
  /** Peer public IP → where it last saw us. One per IP: two sockets behind one peer IP prove nothing. */
  private readonly byPeerIp = new Map<string, Observation>();
  private sawUnmapped = false;

  /**
   * A pong from `peerIp` (a public address: observations across a LAN say nothing of the NAT) saying it
   * saw us at `observed`; `local` are our interface candidates.
   */
  note(peerIp: string, observed: string, local: readonly string[], now: number): void {
    if (local.includes(observed)) {
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

  behaviour(now: number): NatBehaviour {
    const fresh = [...this.byPeerIp.values()].filter((o) => now - o.at <= REFLEXIVE_TTL_MS);
    if (fresh.length === 0) return this.sawUnmapped ? 'none' : 'unknown';
    if (fresh.length < 2) return 'unknown';
    const parsed = fresh.map((o) => parseCandidate(o.observed)).filter((p) => p !== undefined);
    const ips = new Set(parsed.map((p) => p.address));
    // Seen at several public IPs: several uplinks or a NAT pool; nothing to conclude about ports.
    if (ips.size !== 1) return 'unknown';
    const ports = new Set(parsed.map((p) => p.port));
    return ports.size === 1 ? 'endpoint-independent' : 'endpoint-dependent';
  }
}
