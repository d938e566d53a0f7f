/**
 * What the live status view needs from the outside world, injected so the view never touches
 * the control socket: the CLI wires these to the node's `watch` stream and its control methods,
 * and tests wire them to a recorded stream.
 */
import type { NodeStatus } from '../../core/node/status.js';

/** Where the connection to the node stands; the source reconnects by itself, the view only reacts. */
export type SourceState = 'connecting' | 'running' | 'not-running';

export interface StatusSource {
  /**
   * Starts delivering statuses (about once a second, or on every change) and connection states.
   * `detail` says why, in words a user can act on (e.g. the socket path that was missing).
   * Returns the function that stops the subscription.
   */
  subscribe(
    onStatus: (status: NodeStatus) => void,
    onState: (state: SourceState, detail?: string) => void,
  ): () => void;
}

export interface InviteResult {
  code: string;
  /** ISO time the code stops working. */
  expires: string;
  /** The code drawn as a QR code in block characters. */
  qr: string;
}

export interface PingResult {
  rttMs: number;
  /** `direct` or `relay via NAME`, as the node reports the path the reply came over. */
  path: string;
}

export interface ViewActions {
  createInvite(): Promise<InviteResult>;
  ping(name: string): Promise<PingResult>;
}
