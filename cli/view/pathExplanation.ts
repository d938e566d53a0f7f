/**
 * "Why is this link relayed?" in plain words, derived only from what the status reports. Every
 * sentence rests on a field that is present; when the evidence is missing the view says so
 * rather than guessing.
 */
import { describeSkew, SKEW_ALLOWANCE, SKEW_HINT } from '../../core/clockSkew.js';
import { IDLE_HEARTBEAT_MS } from '../../core/discovery/constants.js';
import type { CandidateTried, ViewPeer, ViewStatus } from './evidence.js';
import { elapsed } from './format.js';
import { mapsPerDestination, PROTOCOL_NAMES } from './nat.js';

export interface PathExplanation {
  /** What the node knows about this path, one sentence each. */
  why: string[];
  /** Things the user can change to improve it. */
  hints: string[];
}

/**
 * What this node's filter test found (core/discovery/filterTest.ts), and what it means for paths:
 * each sentence is what the test measured, and what discovery does about it (opening.ts).
 */
const FILTER_WHY = {
  open: "this node's NAT lets in datagrams it was not asked for (a member's, from a port this node never sent to, got in), so members' probes reach it first time.",
  firewall:
    "this node's NAT drops datagrams it was not asked for and keeps no trace of them (a firewall): a probe that arrives before this node's own is lost, and the next one passes.",
  'no-firewall':
    "this node's NAT has no firewall: a datagram it was not asked for is kept by the router, which then gives this node's flow to that sender another port; so members send it only openers (pings that die before its NAT) until it says it has pinged them.",
  filtered:
    "this node's NAT drops datagrams it was not asked for; whether it keeps them (no firewall) could not be told, as it gives each destination its own port or no member could check.",
} as const;

/** An idle path's keepalive period, drawn from 80-100% of IDLE_HEARTBEAT_MS (core/discovery/peerPath.ts). */
const KEEPALIVE = `${(0.8 * IDLE_HEARTBEAT_MS) / 1000}-${IDLE_HEARTBEAT_MS / 1000} s`;

/** Loss above this on the path in use is worth a word. */
const LOSSY_PCT = 5;

function portOf(endpoint: string): string | null {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? m[1]! : null;
}

/** It answered its last probe: recently (ok), or long ago with none sent since (idle). */
function answered(c: CandidateTried): boolean {
  const r = c.result.toLowerCase();
  return r === 'ok' || r === 'idle';
}

/** The candidate the path in use runs on: the direct endpoint, or the relay's route ("via NAME"). */
export function inUseCandidate(peer: ViewPeer): CandidateTried | undefined {
  const candidates = peer.candidates ?? [];
  if (peer.path === 'direct')
    return candidates.find((c) => c.kind !== 'relay' && c.endpoint === peer.endpoint);
  if (peer.path === 'relay')
    return candidates.find((c) => c.kind === 'relay' && c.endpoint === `via ${peer.via}`);
  return undefined;
}

export function explainPath(peer: ViewPeer, status: ViewStatus): PathExplanation {
  const why: string[] = [];
  const hints: string[] = [];
  const name = peer.name;

  if (peer.kind === 'wireguard' && peer.path === 'relay') {
    why.push(
      `${name} is a plain WireGuard device hosted by ${peer.via ?? 'another member'}; it is always reached through its host.`,
    );
    return { why, hints };
  }

  if (peer.clockSkewMs !== undefined) {
    // Said first: it explains everything else (no gossip, no discovery, so no path).
    why.push(
      `${name}'s clock is ${describeSkew(peer.clockSkewMs)} this node's, so its messages are refused (${SKEW_ALLOWANCE}).`,
    );
    hints.push(SKEW_HINT);
  }

  if (!peer.online) {
    why.push(
      peer.lastHandshake
        ? `${name} has not been heard from recently, so no path is in use.`
        : `no handshake with ${name} has completed yet, so no path is in use.`,
    );
    hints.push(`is ${name} running? on it: sudo overlay up`);
    return { why, hints };
  }

  if (peer.path === 'relay') explainRelayed(peer, status, why, hints);
  else if (peer.path === 'direct') explainDirect(peer, status, why);
  const filter = status.self.nat?.filtering;
  if (filter && peer.path !== null) why.push(FILTER_WHY[filter]);

  if (peer.lossPct !== null && peer.lossPct !== undefined && peer.lossPct > LOSSY_PCT) {
    hints.push(
      `${Math.round(peer.lossPct)}% of probes on this path are lost: a congested link or a firewall rate-limiting UDP.`,
    );
  }
  return { why, hints };
}

/** What each end's NAT does, as far as the status knows: this node's and the member's own word. */
function nats(peer: ViewPeer, status: ViewStatus) {
  const self = status.self;
  const hereMapped = self.portMapping?.mapped ?? null;
  const thereMapping = peer.nat?.portMapping ?? null;
  return {
    hereMaps: mapsPerDestination(self.nat, self.natType),
    thereMaps: mapsPerDestination(peer.nat, peer.natType),
    hereMapped,
    thereMapping,
  };
}

/**
 * Relayed: the one sentence that holds for why it is not direct. Only direct candidates count as
 * answers (the relay's own route answers too, and says nothing of a direct path); a per-destination
 * NAT with no port mapping is said to keep the path relayed, since no probe can predict its port.
 */
function explainRelayed(peer: ViewPeer, status: ViewStatus, why: string[], hints: string[]): void {
  const name = peer.name;
  const self = status.self;
  why.push(
    `traffic goes through ${peer.via ?? 'another member'}, which both ends reach; it forwards packets it cannot read.`,
  );
  const direct = (peer.candidates ?? []).filter((c) => c.kind !== 'relay');
  const ok = direct.filter(answered);
  const { hereMaps, thereMaps, hereMapped, thereMapping } = nats(peer, status);
  const hereOpen = hereMapped !== null;
  const thereOpen = thereMapping !== null;
  if (ok.length > 0) {
    why.push(
      `${ok.length} of ${direct.length} direct candidates answered; the path moves to direct once one answers twice in a row.`,
    );
  } else if (peer.probing) {
    why.push(`the first probes to ${name}'s direct candidates are still out; relayed meanwhile.`);
  } else if (hereMaps && thereMaps && !hereOpen && !thereOpen) {
    why.push(
      `both NATs, here and at ${name}, give each destination its own port and neither router maps one: probes cannot meet, so the path stays relayed.`,
    );
  } else if ((hereMaps && !hereOpen) || (thereMaps && !thereOpen)) {
    const where = hereMaps && !hereOpen ? 'the NAT in front of this node' : `the NAT in front of ${name}`;
    why.push(
      `${where} gives each destination its own port and its router maps none, so the other end cannot tell where to send; the path stays relayed.`,
    );
  } else if (peer.candidates === undefined) {
    // No path evidence in this status: nothing more can be said.
  } else if (direct.length === 0) {
    why.push(`no direct candidate of ${name}'s is known yet.`);
  } else {
    why.push(`none of the ${direct.length} direct candidates tried answered.`);
  }
  if (thereOpen && ok.length === 0)
    why.push(
      `${name}'s router maps a port for it (${PROTOCOL_NAMES[thereMapping!]}), and no probe to it answered yet.`,
    );
  if (hereMaps && !hereOpen) {
    hints.push(
      `the NAT in front of this node maps each destination to a different port, so probes cannot meet; forwarding UDP port ${self.listenPort} to this host lets it go direct.`,
    );
  }
  if (thereMaps && !thereOpen) {
    const local = peer.candidates?.find((c) => c.kind === 'local' || c.kind === 'lan');
    const port = local ? portOf(local.endpoint) : null;
    hints.push(
      `the NAT in front of ${name} maps each destination to a different port; forwarding UDP port ${port ?? '(its overlay port)'} to ${name} lets it go direct.`,
    );
  }
  if (!hereMaps && !thereMaps && ok.length === 0 && !peer.probing) {
    hints.push(
      `UDP seems blocked or a NAT maps each destination differently; forwarding UDP port ${self.listenPort} to this host, or ${name}'s overlay port to ${name}, lets it go direct.`,
    );
  }
}

/** Direct: where to, how soon, and which port mapping opened it when a per-destination NAT is in the way. */
function explainDirect(peer: ViewPeer, status: ViewStatus, why: string[]): void {
  why.push(peer.endpoint ? `direct to ${peer.endpoint}.` : 'direct.');
  if (peer.directAfterMs !== null && peer.directAfterMs !== undefined) {
    why.push(`went direct ${elapsed(peer.directAfterMs)} after first contact.`);
  }
  const { hereMaps, thereMaps, hereMapped, thereMapping } = nats(peer, status);
  if (thereMapping !== null) {
    why.push(
      thereMaps
        ? `${peer.name}'s NAT gives each destination its own port; its router maps a port for it (${PROTOCOL_NAMES[thereMapping]}), which is the way in.`
        : `${peer.name}'s router maps a port for it (${PROTOCOL_NAMES[thereMapping]}).`,
    );
  }
  if (hereMapped !== null) {
    why.push(
      hereMaps
        ? `this node's NAT gives each destination its own port; ${PROTOCOL_NAMES[hereMapped.protocol]} maps ${hereMapped.external} to it, which is the way in.`
        : `${PROTOCOL_NAMES[hereMapped.protocol]} maps ${hereMapped.external} to this node.`,
    );
  }
  if (inUseCandidate(peer)?.result === 'idle') {
    why.push(
      `no traffic: the path is only kept open, by one ping and its answer every ${KEEPALIVE}, from whichever end pings first; traffic has it checked at once.`,
    );
  }
}
