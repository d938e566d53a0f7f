/**
 * What became of each datagram the data path handed up to JavaScript (its `rxControl`): every one
 * ends in exactly one of these counts, so a flood's datagrams can be accounted for to the last —
 * the data path counts what it dropped itself, and these count the rest.
 *
 *   handshakesAccepted  a WireGuard handshake message or cookie reply the handshake side took
 *   overlayMessagesUp   handed to the node's overlay layer (which counts its own drops)
 *   stunMessagesUp      handed to the STUN client
 *   controlDropped.R    dropped here, for reason R: the handshake side's reasons (core/wireguard
 *                       messages.ts DropReason) and the tunnel's own below
 */
import type { DropReason } from '../wireguard/messages.js';

/**
 * The tunnel's own reasons: a relayed datagram from a relay that is no longer a peer, a source
 * address that does not parse, or a message nobody here takes. (A STUN answer through a relay
 * never comes up: the data path counts it as junk.)
 */
export type TunnelDropReason = 'unknownRelay' | 'badSource' | 'noHandler';
export type ControlDropReason = DropReason | TunnelDropReason;

export type ControlCountsSnapshot = {
  handshakesAccepted: number;
  overlayMessagesUp: number;
  stunMessagesUp: number;
  /** The sum of every controlDropped.REASON. */
  controlDropped: number;
} & { [reason in `controlDropped.${ControlDropReason}`]?: number };

export class ControlCounts {
  private accepted = 0;
  private overlay = 0;
  private stun = 0;
  private readonly dropped = new Map<ControlDropReason, number>();

  handshakeAccepted(): void {
    this.accepted++;
  }

  overlayUp(): void {
    this.overlay++;
  }

  stunUp(): void {
    this.stun++;
  }

  drop(reason: ControlDropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }

  /** How many were dropped for `reason`. */
  droppedFor(reason: ControlDropReason): number {
    return this.dropped.get(reason) ?? 0;
  }

  snapshot(): ControlCountsSnapshot {
    const out: ControlCountsSnapshot = {
      handshakesAccepted: this.accepted,
      overlayMessagesUp: this.overlay,
      stunMessagesUp: this.stun,
      controlDropped: 0,
    };
    for (const [reason, n] of this.dropped) {
      out[`controlDropped.${reason}`] = n;
      out.controlDropped += n;
    }
    return out;
  }
}
