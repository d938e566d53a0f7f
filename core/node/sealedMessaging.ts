/**
 * The node's sealed messages to and from members: where one is sent (the path a member's traffic
 * takes, else its best known address), and what arrives — opened by the inbox, who sent it noted,
 * then handed on by kind to the handlers it was given (gossip, discovery). It knows the tunnel only
 * as a way to send datagrams and the node not at all: composition is node.ts's job.
 *
 * Receive flow: tunnel event → OverlayInbox (screen, member lookup, open, replay) → fromMember
 * (note when and where the member was heard) → handlers.discovery / handlers.gossip.
 */

import { type Endpoint, parseEndpoint } from '../base/endpoint.js';
import { type PeerId, peerId, peerKey } from '../base/keys.js';
import { type Source, tooEarlyFor } from '../discovery/index.js';
import { type InnerMessage, type JoinResponder, SealedChannel } from '../overlayWire/index.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import type { Arrival } from '../tunnel/types.js';
import { type InboxDropReason, OverlayInbox } from './overlayInbox.js';

/** What of the tunnel sealed messages use: its sends, and where it takes a peer's traffic. */
export type SealedTransport = Pick<
  Tunnel,
  | 'sendOverlayMessage'
  | 'sendOverlayMessageAt'
  | 'sendOverlayMessageToPeer'
  | 'sendOverlayMessageVia'
  | 'peerRelay'
  | 'peerStatus'
>;

/** Where opened messages go, by kind. */
export interface SealedHandlers {
  /**
   * A discovery message from member `from` (WireGuard key, base64), and where it came from;
   * `arrival`: the extra socket it came in on and when the data path received it, as far as known.
   */
  discovery(from: PeerId, body: Uint8Array, source: Source, arrival?: Arrival): void;
  /**
   * A gossip message from member `from`; `replyTo` is the address it came from when it came
   * direct (answers go back the way the question came), undefined through a relay.
   */
  gossip(from: PeerId, body: Uint8Array, replyTo: Endpoint | undefined): void;
}

export interface SealedMessagingOptions {
  readonly keys: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array };
  readonly tunnel: SealedTransport;
  /** Answers join queries and requests for this node's invites. */
  readonly responder: JoinResponder;
  /** The name of current member `publicKey`; undefined for anyone else (OverlayInbox's check). */
  memberName(publicKey: Uint8Array, now: number): string | undefined;
  /** The direct endpoint discovery chose for member `key`; undefined while it has none. */
  chosenEndpoint(key: PeerId): Endpoint | undefined;
  /** Member `key` as a tunnel peer: its public key, the endpoint its record names first, and all of them (`candidates`). */
  peer(key: PeerId):
    | {
        readonly publicKey: Uint8Array;
        readonly endpoint: Endpoint | undefined;
        readonly candidates?: readonly Endpoint[];
      }
    | undefined;
  readonly handlers: SealedHandlers;
  log(line: string): void;
}

export class SealedMessaging {
  private readonly channel: SealedChannel;
  /** overlay's own datagrams: who sent them is checked here before they cost anything. */
  private readonly inbox: OverlayInbox;
  /** When each member (by WireGuard key) last reached us with an authenticated message. */
  private readonly lastHeard = new Map<PeerId, number>();
  /** Where each member's messages last came from: the address that works, whatever it announces. */
  private readonly observed = new Map<PeerId, Endpoint>();
  /** How the datagram being opened arrived (receive → fromMember, synchronously): socket and time. */
  private arrival: Arrival | undefined;

  constructor(private readonly options: SealedMessagingOptions) {
    const { tunnel } = options;
    this.channel = new SealedChannel({
      privateKey: options.keys.privateKey,
      publicKey: options.keys.publicKey,
    });
    this.inbox = new OverlayInbox({
      channel: this.channel,
      responder: options.responder,
      memberName: options.memberName,
      fromMember: (sender, message, from, via) => this.fromMember(sender, message, from, via),
      sendClear: (bytes, to) => tunnel.sendOverlayMessage(bytes, to),
      sendSealedBytes: (bytes, to) => tunnel.sendOverlayMessage(bytes, to),
      log: options.log,
    });
  }

  /**
   * An overlay datagram the tunnel passed up: from `from`, or through relay member `via`; `arrival`:
   * the extra socket it came in on (birthday probing's holes) and when the data path received it
   * (monotonic ms). The inbox opens it and calls fromMember within this call, which hands the
   * arrival on with a discovery message (a pong is timed by it).
   */
  receive(data: Uint8Array, from: Endpoint, via: Uint8Array | undefined, arrival?: Arrival): void {
    this.arrival = arrival;
    try {
      this.inbox.receive(data, from, via, Date.now());
    } finally {
      this.arrival = undefined;
    }
  }

  /**
   * Sends one sealed message to a member (by WireGuard key): to `to` when given, else along the
   * path its traffic takes (through its relay when relayed), else at its best known address.
   */
  send(
    publicKey: Uint8Array,
    message: InnerMessage,
    to?: Endpoint,
    socket?: number,
    ttl?: number,
  ): number | undefined {
    const { tunnel } = this.options;
    if (!to && tunnel.peerRelay(publicKey) !== undefined) {
      tunnel.sendOverlayMessageToPeer(this.channel.seal(publicKey, message, Date.now()), publicKey);
      return undefined;
    }
    const target = to ?? this.addressOf(peerId(publicKey));
    if (!target) return undefined;
    // When the data path sent it, straight to an address (pathTiming.ts times discovery's pings so);
    // from hole `socket`, or with IP TTL `ttl` (an opener), only to the address it was given.
    return tunnel.sendOverlayMessageAt(
      this.channel.seal(publicKey, message, Date.now()),
      target,
      to ? socket : undefined,
      to ? ttl : undefined,
    );
  }

  /** Seals `message` for member `publicKey` and sends it in a relay envelope through member `via`. */
  sendVia(publicKey: Uint8Array, message: InnerMessage, via: Uint8Array): void {
    const sealed = this.channel.seal(publicKey, message, Date.now());
    this.options.tunnel.sendOverlayMessageVia(sealed, publicKey, via);
  }

  /** Whether `send` has anywhere to send: a relay the peer's traffic goes through, or an address. */
  reachable(publicKey: Uint8Array): boolean {
    return (
      this.options.tunnel.peerRelay(publicKey) !== undefined ||
      this.addressOf(peerId(publicKey)) !== undefined
    );
  }

  /** When member `key` last reached us with an authenticated message (ms since the epoch). */
  lastHeardAt(key: PeerId): number | undefined {
    return this.lastHeard.get(key);
  }

  /** The clock skew of a member whose messages were refused for it lately (OverlayInbox.skewOf). */
  skewOf(key: PeerId, now: number): number | undefined {
    return this.inbox.skewOf(key, now);
  }

  /** Datagrams the inbox dropped: the total, and by reason. */
  drops(): { total: number; byReason: ReadonlyMap<InboxDropReason, number> } {
    return { total: this.inbox.droppedTotal, byReason: this.inbox.dropped };
  }

  /**
   * Members that left: what we noted about anyone `isPeer` no longer holds goes, and the peers
   * just removed (`gone`) lose their channel state too.
   */
  forgetLeft(isPeer: (key: PeerId) => boolean, gone: readonly PeerId[]): void {
    for (const map of [this.lastHeard, this.observed]) {
      for (const key of map.keys()) if (!isPeer(key)) map.delete(key);
    }
    for (const key of gone) this.inbox.forget(peerKey(key));
  }

  /**
   * Where to send a member's sealed messages: the direct path discovery chose; before it has one,
   * where the member's messages last came from (a member that just came up announces only its LAN
   * address until peers tell it its public one, so its record would send our answers nowhere);
   * then the tunnel's endpoint, then the record's — but not for a member behind a NAT (its record
   * names a private address too): a packet that reaches its NAT before the member has sent to us
   * would, without a firewall there, take the pair of addresses its hole needs
   * (core/discovery/opening.ts). Discovery finds it a path (a relay at once) within moments.
   */
  private addressOf(key: PeerId): Endpoint | undefined {
    const chosen = this.options.chosenEndpoint(key);
    if (chosen) return chosen;
    const observed = this.observed.get(key);
    if (observed) return observed;
    const known = this.options.peer(key);
    const status = known ? this.options.tunnel.peerStatus(known.publicKey) : undefined;
    // The tunnel's status is the data path's, in text: parsed here, its one reader.
    const guess = (status?.endpoint ? parseEndpoint(status.endpoint) : undefined) ?? known?.endpoint;
    if (guess === undefined || (known?.candidates && tooEarlyFor(known.candidates, guess))) return undefined;
    return guess;
  }

  /** A member's message, authenticated and fresh (OverlayInbox checked who sent it). */
  private fromMember(
    sender: Uint8Array,
    msg: InnerMessage,
    from: Endpoint,
    via: Uint8Array | undefined,
  ): void {
    const key = peerId(sender);
    this.lastHeard.set(key, Date.now());
    // Through a relay, `from` is the relay's address, not where this member can be reached.
    if (!via) this.observed.set(key, from);
    if (msg.kind === 'discovery') {
      const source: Source = via ? { via: peerId(via) } : { endpoint: from };
      this.options.handlers.discovery(key, msg.body, source, this.arrival);
    } else if (msg.kind === 'gossip') {
      this.options.handlers.gossip(key, msg.body, via ? undefined : from);
    }
  }
}
