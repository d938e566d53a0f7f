/**
 * Opening a NAT that has no firewall (issue 13, point 1): the first ping that reaches a peer's NAT
 * before that NAT has a mapping toward us must not be a whole one.
 *
 * A router that only masquerades (Linux `MASQUERADE` and no filter rules: a host NATing for its
 * VMs, a cloud NAT instance) records an unsolicited packet from the internet as an unreplied
 * connection of its own. When its host then sends to us, the NAT finds that connection holding the
 * pair of addresses it wanted and gives the host's flow another public port: our pings keep going
 * to the port the peer announced, the peer's come from the new one, each NAT drops the other's,
 * and every ping refreshes the entries that block it. A firewalled router drops such packets
 * before they leave state, which is why punching worked through it all along.
 *
 * So a ping to a public address of a peer behind a NAT that has never answered goes out as an
 * opener, with IP TTL OPENER_TTL: it passes our own NAT (the mapping toward the peer is made) and
 * dies at the next router, long before the peer's NAT. After pinging such addresses (openers or
 * whole pings: either makes our mapping) the path tells the peer so through its relays ('opened');
 * a peer told so sends its pings whole — our NAT lets them in now, and its own NAT makes its
 * mapping as they pass, on the port it announced — and whoever hears a ping from an address sends
 * its own pings there whole, so the answer comes back through both. Whichever side opens first, no
 * whole ping meets a NAT that is not expecting it. A side that pings whole keeps saying 'opened' too:
 * behind a NAT with a port per destination, only the peer's whole pings show it where to answer
 * (the port they come from), and the peer sends them only when told.
 *
 * A member with a public address of its own has no NAT to pass, and between two public addresses
 * lies one router: from it an opener of OPENER_TTL reaches the peer's NAT with a TTL of 1, which is
 * enough for a packet to the router itself (it is not forwarded), and the unreplied entry is made
 * after all (seen in a namespace world: a public member's opener took the pair a NATed member's
 * flow toward it needed, and Linux then gave every new flow of that member the port it got
 * instead). So its openers go with a TTL of 1: its own host's conntrack records the flow, and the
 * first router drops the packet (openerTtl).
 *
 * Openers are for a peer that may sit behind a NAT (it announces a private address as well) and
 * only while someone can carry 'opened': with no relaying member in the network there is nobody to
 * tell, and pings go whole at once, as before.
 */
import { HEARD_FRESH_MS, OPENED_FRESH_MS, OPENER_TTL } from './constants.js';
import type { PathEvidence } from './pathEvidence.js';

export class Opening {
  /** When the peer last said it opened its NAT toward us. */
  private peerOpenedAt = Number.NEGATIVE_INFINITY;

  /** An 'opened' from the peer: whole pings to it from now on, until OPENED_FRESH_MS without another. */
  peerOpened(now: number): void {
    this.peerOpenedAt = now;
  }

  /**
   * The TTL to ping route `e` with: OPENER_TTL for an opener, undefined for a whole ping.
   * `behindNat`: the peer announces a private address besides its public ones. `canTell`: some
   * member may carry our 'opened' to the peer.
   */
  ttlFor(
    e: PathEvidence,
    behindNat: boolean,
    canTell: boolean,
    now: number,
    ourPublicAddress = false,
  ): number | undefined {
    if (!behindNat || !canTell || !mayBeUnopened(e)) return undefined;
    if (now - this.peerOpenedAt <= OPENED_FRESH_MS) return undefined;
    if (e.heardAt !== undefined && now - e.heardAt <= HEARD_FRESH_MS) return undefined;
    return openerTtl(ourPublicAddress);
  }

  /** Routes that may still need opening: pinged whole at once when the peer opened, and told of. */
  static waiting(e: PathEvidence): boolean {
    return mayBeUnopened(e);
  }
}

/**
 * An opener's IP TTL: OPENER_TTL passes our own NAT and dies at the router beyond it; with a public
 * address of our own (`ourPublicAddress`) there is no NAT of ours, and 1 dies at our first router,
 * short of the peer's NAT.
 */
export function openerTtl(ourPublicAddress: boolean): number {
  return ourPublicAddress ? 1 : OPENER_TTL;
}

/**
 * A public IPv4 address of the peer's that never answered and that no gateway forwards for it: a
 * NAT's, perhaps, with no mapping toward us yet. (IPv6 addresses are the hosts' own.)
 */
function mayBeUnopened(e: PathEvidence): boolean {
  const r = e.route;
  return (
    r.type === 'direct' &&
    r.kind !== 'mapped' &&
    r.publicIp !== undefined &&
    !r.publicIp.includes(':') &&
    e.lastAnsweredAt === undefined
  );
}
