/**
 * Our own candidate endpoints: what we announce in our endpoint record and hand to peers in
 * call-me-maybe. Three sources: the addresses of our interfaces, the ones the user announces
 * (--endpoint), and reflexive addresses — where peers across the internet see us, learned from pongs.
 * Also the ranking of a peer's candidates for probing.
 */
import type { Endpoint } from '../base/endpoint.js';
import { MAX_CANDIDATES, REFLEXIVE_TTL_MS } from './constants.js';
import { addressScope, dedupeEndpoints, endpointKey, sameEndpoints } from './endpointClass.js';
import { type NatBehaviour, type NatClassification, NatInference } from './natBehaviour.js';

/** 'mapped': a port the peer's gateway forwards to it (PCP, NAT-PMP, UPnP), said in its signed record. */
export type CandidateKind = 'lan' | 'public' | 'mapped' | 'reflexive' | 'observed';

export class CandidateSet {
  private local: Endpoint[] = [];
  private announced: Endpoint[] = [];
  /** Reflexive address (by endpointKey) → it, and the last time a peer confirmed it; newest last. */
  private readonly reflexive = new Map<string, { endpoint: Endpoint; at: number }>();
  private reflexiveIpsAt: { now: number; ips: ReadonlySet<string> } | undefined;
  private readonly nat = new NatInference();
  private published: Endpoint[] = [];

  constructor(local: readonly Endpoint[] = [], announced: readonly Endpoint[] = []) {
    this.setLocal(local);
    this.announced = dedupeEndpoints(announced);
    this.published = this.list(0);
  }

  /** Whether one of our interfaces has a public address: no NAT of ours lies between us and the internet. */
  hasPublicLocal(): boolean {
    return this.local.some((e) => addressScope(e.address) === 'public');
  }

  /** Our interfaces' addresses. Returns true when that changes what we announce. */
  setLocal(local: readonly Endpoint[], now = 0): boolean {
    const next = dedupeEndpoints(local);
    if (!sameEndpoints(next, this.local)) {
      // Another network: what peers saw of us before no longer holds.
      this.reflexive.clear();
      this.reflexiveIpsAt = undefined;
      this.nat.reset();
    }
    this.local = next;
    return this.republish(now);
  }

  /**
   * A peer at `peerEndpoint` answered our ping and saw us at `observed`. Returns true when that changes
   * what we announce (a new reflexive address: the node re-announces and tells peers).
   */
  noteObserved(peer: Endpoint, observed: Endpoint, now: number): boolean {
    // Across a LAN a peer sees our LAN address: not news, and not evidence about our NAT.
    if (addressScope(peer.address) === 'lan') return false;
    this.nat.note(peer.address, observed, this.local, now);
    const key = endpointKey(observed);
    if (this.local.some((l) => endpointKey(l) === key)) return this.republish(now);
    this.reflexive.delete(key);
    this.reflexive.set(key, { endpoint: observed, at: now });
    this.reflexiveIpsAt = undefined;
    // Oldest first (re-inserted on each sighting): expired ones go, or behind a NAT that picks a
    // new port per destination the map would grow for as long as the node runs.
    for (const [k, { at }] of this.reflexive) {
      if (now - at <= REFLEXIVE_TTL_MS) break;
      this.reflexive.delete(k);
    }
    return this.republish(now);
  }

  /** Candidates to announce, best first, at most MAX_CANDIDATES. */
  list(now: number): Endpoint[] {
    const fresh = [...this.reflexive.values()]
      .filter(({ at }) => now - at <= REFLEXIVE_TTL_MS)
      .map(({ endpoint }) => endpoint)
      .reverse();
    // Behind an endpoint-dependent NAT each peer sees another port: announce only the newest, for its
    // IP (a peer behind the same NAT recognises it and tries our LAN addresses first).
    const reflexive =
      this.nat.behaviour(now) === 'endpoint-dependent' ? fresh.slice(0, 1) : fresh.slice(0, 2);
    const publicLocal = this.local.filter((e) => addressScope(e.address) === 'public');
    const lanLocal = this.local.filter((e) => addressScope(e.address) === 'lan');
    return dedupeEndpoints([...this.announced, ...publicLocal, ...reflexive, ...lanLocal]).slice(
      0,
      MAX_CANDIDATES,
    );
  }

  /**
   * Public IPs peers currently see us at: equal to a peer's means we share its NAT. Every path
   * asks on every tick, and behind a NAT that maps per destination there is an observation per
   * peer: so the answer is kept until the time or the observations change.
   */
  reflexiveIps(now: number): ReadonlySet<string> {
    if (this.reflexiveIpsAt?.now === now) return this.reflexiveIpsAt.ips;
    const ips = new Set<string>();
    for (const { endpoint, at } of this.reflexive.values())
      if (now - at <= REFLEXIVE_TTL_MS) ips.add(endpoint.address);
    this.reflexiveIpsAt = { now, ips };
    return ips;
  }

  natBehaviour(now: number): NatBehaviour {
    return this.nat.behaviour(now);
  }

  natClassification(now: number): NatClassification {
    return this.nat.classify(now);
  }

  /** Our listen port, and how many vantage points see us, and at it (natBehaviour.ts). */
  natPorts(now: number): { vantagePoints: number; keptToward: number; listenPort: number | undefined } {
    const { vantagePoints } = this.nat.classify(now);
    return { vantagePoints, keptToward: this.nat.keptToward(now), listenPort: this.nat.listenPort };
  }

  /** What the filter test found (filterTest.ts): a NAT with no firewall has tuples taken. */
  noteNoFirewall(noFirewall: boolean): void {
    this.nat.noteNoFirewall(noFirewall);
  }

  private republish(now: number): boolean {
    const next = this.list(now);
    if (sameEndpoints(next, this.published)) return false;
    this.published = next;
    return true;
  }
}

/**
 * A peer's candidates in the order to try them, with their kinds. Behind the same NAT as us (a public
 * candidate of theirs is one of our reflexive IPs) their LAN addresses come first — most NATs do not
 * hairpin, so the public one would not even work; otherwise public ones come first.
 */
export function rankPeerCandidates(
  candidates: readonly Endpoint[],
  ourReflexiveIps: ReadonlySet<string>,
  mapped: readonly Endpoint[] = [],
): { ordered: { endpoint: Endpoint; kind: CandidateKind }[]; sameNat: boolean } {
  const isMapped = new Set(mapped.map(endpointKey));
  const withScope = dedupeEndpoints(candidates).map((endpoint) => ({
    endpoint,
    ip: endpoint.address,
    mapped: isMapped.has(endpointKey(endpoint)),
  }));
  const sameNat = withScope.some((c) => addressScope(c.ip) === 'public' && ourReflexiveIps.has(c.ip));
  const lan = withScope.filter((c) => addressScope(c.ip) === 'lan');
  // A mapped port is open to anyone, whatever the NATs do: the public candidate most likely to answer.
  const pub = withScope
    .filter((c) => addressScope(c.ip) === 'public')
    .sort((a, b) => Number(b.mapped) - Number(a.mapped));
  const ordered = (sameNat ? [...lan, ...pub] : [...pub, ...lan]).map((c) => ({
    endpoint: c.endpoint,
    kind: c.mapped ? 'mapped' : (addressScope(c.ip) as CandidateKind),
  }));
  return { ordered, sameNat };
}
