/**
 * `overlay ping NAME`: discovery pings (sealed, so only the member can answer) sent over the same
 * UDP path the tunnel uses, timed from send to pong — the path's RTT without needing a session,
 * and an answer that says where the pong came from.
 */
import { randomBytes } from 'node:crypto';
import { encodeDiscovery, TXID_SIZE } from '../discovery/index.js';

/** A pong to one of our pings: the round trip, and where it came from. */
export interface Pong {
  rttMs: number;
  /** The endpoint the pong came from, or `via NAME` when it came through a relay. */
  from: string;
}

interface Pending {
  sentAt: number;
  resolve: (pong: Pong | null) => void;
  timer: NodeJS.Timeout;
}

export class Pinger {
  private readonly pending = new Map<string, Pending>();

  /** A ping's encoded body, and a promise of its pong (null after `timeoutMs`). */
  ping(timeoutMs: number): { body: Uint8Array; pong: Promise<Pong | null> } {
    const txid = new Uint8Array(randomBytes(TXID_SIZE));
    const key = Buffer.from(txid).toString('hex');
    const body = encodeDiscovery({ kind: 'ping', txid });
    const pong = new Promise<Pong | null>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(key);
        resolve(null);
      }, timeoutMs);
      this.pending.set(key, { sentAt: performance.now(), resolve, timer });
    });
    return { body, pong };
  }

  /** A pong for one of our pings settles it; true if it was ours. */
  /** `from`: the endpoint the pong came from, or `via NAME` when it came through a relay. */
  receivePong(txid: Uint8Array, from: string): boolean {
    const key = Buffer.from(txid).toString('hex');
    const p = this.pending.get(key);
    if (!p) return false;
    this.pending.delete(key);
    clearTimeout(p.timer);
    p.resolve({ rttMs: performance.now() - p.sentAt, from });
    return true;
  }

  close(): void {
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
  }
}
