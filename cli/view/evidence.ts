/**
 * Fields the view shows when the node reports them. Issue 5 (NAT traversal) adds the path
 * evidence; until then these are absent and the view says "not measured yet". All optional, so a
 * NodeStatus of today is already a ViewStatus; a field whose type changes in core fails to
 * compile here instead of rendering nonsense.
 */
import type { NodeStatus, PeerStatus } from '../../core/node/status.js';

/** One candidate endpoint this node probed for a peer, and what came of it. */
export interface CandidateTried {
  endpoint: string;
  /** local, reflexive, mapped, announced... */
  kind?: string;
  /**
   * ok, idle, no answer, not tried yet (core/node/status.ts); `ok`: answered, recently; `idle`: its
   * last probe was answered, long ago, and none went out since (an idle path is pinged rarely).
   */
  result: string;
  rttMs?: number | null;
  /** ISO time it last answered. */
  at?: string | null;
  /** ISO time the member's last ping from this endpoint came: the path works that way. */
  heardAt?: string | null;
}

export interface PeerEvidence {
  /** The NAT behaviour seen at the peer's end (e.g. endpoint-independent, endpoint-dependent, none). */
  natType?: string | null;
  candidates?: CandidateTried[];
  /** Loss on the path in use, in percent. */
  lossPct?: number | null;
  /** ISO time the path's RTT and loss were last measured. */
  measuredAt?: string | null;
  /** How long it took from first contact to a direct path. */
  directAfterMs?: number | null;
  /** ISO time the member's certificate expires. */
  certExpires?: string | null;
  /** This member's own packet and drop counters, when the node keeps them per member. */
  counters?: Record<string, number>;
}

export interface SelfEvidence {
  /** The NAT behaviour this node sees in front of itself. */
  natType?: string | null;
}

export type ViewPeer = PeerStatus & PeerEvidence;

export interface ViewStatus extends Omit<NodeStatus, 'self' | 'peers'> {
  self: NodeStatus['self'] & SelfEvidence;
  peers: ViewPeer[];
}
