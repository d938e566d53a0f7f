/**
 * Per-member traffic rates from successive statuses' byte counters. The node reports totals; a
 * rate needs two of them and the time between. Pure: the caller passes the clock reading.
 */
import type { NodeStatus } from '../../core/node/status.js';

/** Samples kept per member, enough for the widest sparkline. */
export const HISTORY = 20;
/** Statuses closer together than this are a burst (a reconnect replaying state), not a new sample. */
const MIN_SAMPLE_MS = 200;
/**
 * The watch stream sends a status only when something changed, so this long without one means
 * the counters stood still: the view records a zero sample instead of repeating an old rate.
 */
export const SILENCE_MS = 1500;

export interface PeerTraffic {
  /** Bytes per second received from / sent to the member; null until two samples exist. */
  rx: number | null;
  tx: number | null;
  /** rx + tx per second, oldest first, at most HISTORY long. */
  history: readonly number[];
}

interface Totals {
  rx: number;
  tx: number;
}

export interface TrafficState {
  /** When the byte totals below were current. */
  at: number | null;
  totals: ReadonlyMap<string, Totals>;
  peers: ReadonlyMap<string, PeerTraffic>;
}

export const emptyTraffic: TrafficState = { at: null, totals: new Map(), peers: new Map() };

const NO_TRAFFIC: PeerTraffic = { rx: null, tx: null, history: [] };

export function trafficOf(state: TrafficState, publicKey: string): PeerTraffic {
  return state.peers.get(publicKey) ?? NO_TRAFFIC;
}

function pushed(history: readonly number[], v: number): number[] {
  return [...history, v].slice(-HISTORY);
}

/** Folds one status, received at `at` (ms), into the rates. Members keyed by public key, which never changes. */
export function observe(state: TrafficState, status: NodeStatus, at: number): TrafficState {
  const dt = state.at === null ? 0 : at - state.at;
  if (state.at !== null && dt < MIN_SAMPLE_MS) {
    // Keep the older baseline so the next sample spans the whole interval; only adopt new members.
    const totals = new Map(state.totals);
    for (const p of status.peers) {
      if (!totals.has(p.publicKey)) totals.set(p.publicKey, { rx: p.rxBytes, tx: p.txBytes });
    }
    return { ...state, totals };
  }
  const totals = new Map<string, Totals>();
  const peers = new Map<string, PeerTraffic>();
  for (const p of status.peers) {
    totals.set(p.publicKey, { rx: p.rxBytes, tx: p.txBytes });
    const before = state.totals.get(p.publicKey);
    const old = state.peers.get(p.publicKey) ?? NO_TRAFFIC;
    const drx = before ? p.rxBytes - before.rx : -1;
    const dtx = before ? p.txBytes - before.tx : -1;
    // A total that went down means the node restarted or the session was replaced: start again.
    if (!before || dt <= 0 || drx < 0 || dtx < 0) {
      peers.set(p.publicKey, old);
      continue;
    }
    const rx = (drx * 1000) / dt;
    const tx = (dtx * 1000) / dt;
    peers.set(p.publicKey, { rx, tx, history: pushed(old.history, rx + tx) });
  }
  return { at, totals, peers };
}

/**
 * Called on the view's own tick: after SILENCE_MS without a status, every member gets a zero
 * sample. Returns the same object when nothing changed, so React skips the render.
 */
export function idle(state: TrafficState, at: number): TrafficState {
  if (state.at === null || at - state.at < SILENCE_MS) return state;
  const peers = new Map<string, PeerTraffic>();
  for (const [key, t] of state.peers) peers.set(key, { rx: 0, tx: 0, history: pushed(t.history, 0) });
  for (const key of state.totals.keys()) {
    if (!peers.has(key)) peers.set(key, { rx: 0, tx: 0, history: [0] });
  }
  return { at, totals: state.totals, peers };
}
