/**
 * The extra sockets behind birthday probing's holes (core/discovery/birthday.ts): discovery numbers
 * a peer's holes 1..BIRTHDAY_HOLES, the data path numbers its sockets; this maps one to the other.
 * A hole's socket is opened when its first ping goes out, and closed when discovery says so (the
 * attempt ended, or the peer left), but for the one that won: its destination is bound to it in the
 * data path, so that peer's handshakes and transport leave from it, as the NAT mapping it holds needs.
 *
 * Bounded: BIRTHDAY_HOLES per peer, and discovery runs one attempt at a time; the data path refuses
 * beyond its own cap (openSocket gives undefined), and a hole without a socket sends nothing.
 */

import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { BIRTHDAY_HOLES } from '../discovery/birthday.js';
import { FILTER_HOLE } from '../discovery/filterTest.js';
import type { Tunnel } from '../tunnel/tunnel.js';

export type HoleTransport = Pick<Tunnel, 'openSocket' | 'closeSocket' | 'bindSocket'> &
  Partial<Pick<Tunnel, 'openSocketWithPort'>>;

export class HoleSockets {
  /** Peer → its holes' sockets by hole number. */
  private readonly byPeer = new Map<PeerId, Map<number, number>>();
  /** Socket → whose hole it is. */
  private readonly bySocket = new Map<number, { peer: PeerId; hole: number }>();

  constructor(private readonly tunnel: HoleTransport) {}

  /** The socket of `peer`'s hole `hole`, opened now if it has none; undefined when none can be. */
  socketFor(peer: PeerId, hole: number): number | undefined {
    // Birthday probing's holes, and the filter test's socket past them.
    if (!Number.isInteger(hole) || hole < 1 || (hole > BIRTHDAY_HOLES && hole !== FILTER_HOLE))
      return undefined;
    let holes = this.byPeer.get(peer);
    const held = holes?.get(hole);
    if (held !== undefined) return held;
    const socket = this.tunnel.openSocket();
    if (socket === undefined) return undefined;
    if (holes === undefined) {
      holes = new Map();
      this.byPeer.set(peer, holes);
    }
    holes.set(hole, socket);
    this.bySocket.set(socket, { peer, hole });
    return socket;
  }

  /** Which of `peer`'s holes `socket` is; undefined for the main socket or another's hole. */
  holeOf(peer: PeerId, socket: number | undefined): number | undefined {
    if (socket === undefined) return undefined;
    const h = this.bySocket.get(socket);
    return h?.peer === peer ? h.hole : undefined;
  }

  /** `peer`'s hole `hole` won: what goes to `endpoint` leaves from its socket from now on. */
  bind(peer: PeerId, endpoint: Endpoint, hole: number): void {
    const socket = this.byPeer.get(peer)?.get(hole);
    if (socket !== undefined) this.tunnel.bindSocket(endpoint, socket);
  }

  /** Closes `peer`'s holes but `keep`; or, given `only`, that one alone. */
  close(peer: PeerId, keep?: number, only?: number): void {
    const holes = this.byPeer.get(peer);
    if (holes === undefined) return;
    for (const [hole, socket] of holes) {
      if (hole === keep || (only !== undefined && hole !== only)) continue;
      this.tunnel.closeSocket(socket);
      this.bySocket.delete(socket);
      holes.delete(hole);
    }
    if (holes.size === 0) this.byPeer.delete(peer);
  }
}
