/**
 * Whether a router kept its mappings since we last heard it: its epoch (seconds since it started,
 * or since it lost its state) must have advanced about as far as our own clock. RFC 6887 §8.5 gives
 * the rule PCP clients use; RFC 6886 §3.6 says the same less precisely for NAT-PMP, so both use it.
 */
export interface EpochSample {
  /** The server's epoch time (s). */
  readonly server: number;
  /** Our clock when it arrived (ms). */
  readonly clientMs: number;
}

/**
 * False when the router lost its state between `prev` and `next`: its epoch went backwards by
 * more than a second, or advanced at a rate too far from ours (more than 1/16 off, plus 2 s of slack).
 */
export function epochValid(prev: EpochSample | undefined, next: EpochSample): boolean {
  if (prev === undefined) return true;
  if (next.server + 1 < prev.server) return false;
  const clientDelta = (next.clientMs - prev.clientMs) / 1000;
  const serverDelta = next.server - prev.server;
  if (clientDelta + 2 < serverDelta - serverDelta / 16) return false;
  if (serverDelta + 2 < clientDelta - clientDelta / 16) return false;
  return true;
}
