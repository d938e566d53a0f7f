/**
 * "Why is this link relayed?" in plain words, derived only from what the status reports. Every
 * sentence rests on a field that is present; when the evidence is missing the view says so
 * rather than guessing.
 */
import { describeSkew, SKEW_ALLOWANCE, SKEW_HINT } from '../../core/clockSkew.js';
import type { CandidateTried, ViewPeer, ViewStatus } from './evidence.js';
import { elapsed } from './format.js';

export interface PathExplanation {
  /** What the node knows about this path, one sentence each. */
  why: string[];
  /** Things the user can change to improve it. */
  hints: string[];
}

/** Loss above this on the path in use is worth a word. */
const LOSSY_PCT = 5;

/** A NAT that gives each destination its own port: hole punching cannot predict it. */
function mapsPerDestination(nat: string | null | undefined): boolean {
  if (!nat) return false;
  const n = nat.toLowerCase();
  return n.includes('symmetric') || (n.includes('dependent') && !n.includes('independent'));
}

function portOf(endpoint: string): string | null {
  const m = /:(\d+)$/.exec(endpoint);
  return m ? m[1]! : null;
}

function answered(c: CandidateTried): boolean {
  return c.result.toLowerCase() === 'ok';
}

export function explainPath(peer: ViewPeer, status: ViewStatus): PathExplanation {
  const why: string[] = [];
  const hints: string[] = [];
  const self = status.self;
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

  const candidates = peer.candidates;
  if (peer.path === 'relay') {
    why.push(
      `traffic goes through ${peer.via ?? 'another member'}, which both ends reach; it forwards packets it cannot read.`,
    );
    if (candidates && candidates.length > 0) {
      const ok = candidates.filter(answered);
      why.push(
        ok.length === 0
          ? `none of the ${candidates.length} candidate endpoints tried answered.`
          : `${ok.length} of ${candidates.length} candidates answered; the path should move to direct shortly.`,
      );
    }
    const hereMaps = mapsPerDestination(self.natType);
    const thereMaps = mapsPerDestination(peer.natType);
    if (hereMaps) {
      hints.push(
        `the NAT in front of this node maps each destination to a different port, so probes cannot meet; forwarding UDP port ${self.listenPort} to this host lets it go direct.`,
      );
    }
    if (thereMaps) {
      const local = candidates?.find((c) => c.kind === 'local');
      const port = local ? portOf(local.endpoint) : null;
      hints.push(
        `the NAT in front of ${name} maps each destination to a different port; forwarding UDP port ${port ?? '(its overlay port)'} to ${name} lets it go direct.`,
      );
    }
    if (!hereMaps && !thereMaps && !candidates?.some(answered)) {
      hints.push(
        `UDP seems blocked or a NAT maps each destination differently; forwarding UDP port ${self.listenPort} to this host, or ${name}'s overlay port to ${name}, lets it go direct.`,
      );
    }
  } else if (peer.path === 'direct') {
    why.push(peer.endpoint ? `direct to ${peer.endpoint}.` : 'direct.');
    if (peer.directAfterMs !== null && peer.directAfterMs !== undefined) {
      why.push(`went direct ${elapsed(peer.directAfterMs)} after first contact.`);
    }
  }

  if (peer.lossPct !== null && peer.lossPct !== undefined && peer.lossPct > LOSSY_PCT) {
    hints.push(
      `${Math.round(peer.lossPct)}% of probes on this path are lost: a congested link or a firewall rate-limiting UDP.`,
    );
  }
  return { why, hints };
}
