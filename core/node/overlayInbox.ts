/**
 * Where overlay's own datagrams (type ≥ 0x80) arrive at a node, and who may cost it what.
 *
 * 1. A clear join query is answered only for an invite this node holds; the asking address may
 *    then send a sealed join request for a short while (JoinResponder.expectsJoinFrom).
 * 2. A sealed datagram is screened first (size, mac1, header: no key work, no state).
 * 3. Its sender is looked up before anything is spent on it: a member's is opened with the
 *    member's cached box key and checked against that member's own replay state; a stranger's
 *    is opened only when it comes from an address with a pending join, and only a join request
 *    is taken from it. Everything else is dropped here, counted by reason, having cost a hash.
 * 4. A member whose messages are refused because its clock is too far from ours is logged (once a
 *    minute) with the skew, and `skewOf` tells `status` about it.
 *
 * I/O-free apart from the sends and the log it is handed, so a test drives it with bytes.
 */
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import { encodeKey } from '../base/keys.js';
import { describeSkew, SKEW_ALLOWANCE, SKEW_HINT } from '../clockSkew.js';
import {
  classifyDatagram,
  type InnerMessage,
  type JoinResponder,
  type SealedChannel,
  type SealedDropReason,
} from '../overlayWire/index.js';

export type InboxDropReason =
  | SealedDropReason
  /** A sealed datagram from a key that is no member, and no join was asked for from its address. */
  | 'notMember'
  /** A pending joiner sent something other than a join request. */
  | 'strangerMessage'
  /** A join query that does not parse, or names no invite of ours. */
  | 'joinQuery'
  /** A type byte of overlay's range that a node never receives (query replies, reserved). */
  | 'unexpectedType';

export interface OverlayInboxContext {
  readonly channel: SealedChannel;
  readonly responder: JoinResponder;
  /** The name of current member `publicKey` (the roster's word); undefined for anyone else. */
  memberName(publicKey: Uint8Array, now: number): string | undefined;
  /** A member's message, opened and fresh; `via` is the relay member when it came in an envelope. */
  fromMember(sender: Uint8Array, message: InnerMessage, from: Endpoint, via: Uint8Array | undefined): void;
  /** Sends a clear datagram (a query reply) to `to`. */
  sendClear(bytes: Uint8Array, to: Endpoint): void;
  /** Sends a sealed datagram (already sealed) to `to`. */
  sendSealedBytes(bytes: Uint8Array, to: Endpoint): void;
  log(line: string): void;
}

/** How long a member's skewed clock stays in `status` after its last refused message. */
const SKEW_REMEMBERED_MS = 60_000;
/** A member's skew is logged at most this often. */
const SKEW_LOG_EVERY_MS = 60_000;

export class OverlayInbox {
  /** Datagrams dropped, by reason: what a flood or a misconfigured peer costs, as numbers. */
  readonly dropped = new Map<InboxDropReason, number>();
  /** Member key (base64) → the skew of its last refused message, and when it was seen and logged. */
  private readonly skews = new Map<string, { skewMs: number; at: number; loggedAt: number }>();

  constructor(private readonly context: OverlayInboxContext) {}

  receive(data: Uint8Array, from: Endpoint, via: Uint8Array | undefined, now: number): void {
    const c = this.context;
    const kind = classifyDatagram(data);
    if (kind === 'joinQuery') {
      // A relayed join query would make the relay's address a pending joiner: not through relays.
      if (via !== undefined) {
        this.drop('unexpectedType');
        return;
      }
      const answer = c.responder.answerQuery(data, formatEndpoint(from), now);
      if (answer.ok) c.sendClear(answer.reply, from);
      else this.drop('joinQuery');
      return;
    }
    if (kind !== 'sealed') {
      this.drop('unexpectedType');
      return;
    }
    const screened = c.channel.screen(data);
    if (!screened.ok) {
      this.drop(screened.reason);
      return;
    }
    const sender = screened.senderPublicKey;
    const name = c.memberName(sender, now);
    if (name !== undefined) {
      this.fromMember(name, data, from, via, now);
      return;
    }
    if (via !== undefined || !c.responder.expectsJoinFrom(formatEndpoint(from), now)) {
      this.drop('notMember');
      return;
    }
    this.fromJoiner(data, from, now);
  }

  /** The skew of a member whose messages were refused for it lately (positive: it is ahead). */
  skewOf(publicKey: string, now: number): number | undefined {
    const s = this.skews.get(publicKey);
    return s !== undefined && now - s.at < SKEW_REMEMBERED_MS ? s.skewMs : undefined;
  }

  /** A member that left: what we noted about it goes. */
  forget(publicKey: Uint8Array): void {
    this.skews.delete(encodeKey(publicKey));
    this.context.channel.forget(publicKey);
  }

  /** Total drops, for tests and status. */
  get droppedTotal(): number {
    let n = 0;
    for (const v of this.dropped.values()) n += v;
    return n;
  }

  private fromMember(
    name: string,
    data: Uint8Array,
    from: Endpoint,
    via: Uint8Array | undefined,
    now: number,
  ): void {
    const opened = this.context.channel.open(data, now);
    if (!opened.ok) {
      if (opened.skewMs !== undefined && opened.senderPublicKey) {
        this.noteSkew(name, encodeKey(opened.senderPublicKey), opened.skewMs, now);
      }
      this.drop(opened.reason);
      return;
    }
    this.skews.delete(encodeKey(opened.senderPublicKey));
    this.context.fromMember(opened.senderPublicKey, opened.message, from, via);
  }

  private fromJoiner(data: Uint8Array, from: Endpoint, now: number): void {
    const c = this.context;
    const opened = c.channel.open(data, now, { standing: 'stranger' });
    if (!opened.ok) {
      this.drop(opened.reason);
      return;
    }
    if (opened.message.kind !== 'joinRequest') {
      this.drop('strangerMessage');
      return;
    }
    const sender = opened.senderPublicKey;
    const reply = c.responder.answerRequest(sender, opened.message, formatEndpoint(from), now, opened.sentAt);
    c.sendSealedBytes(c.channel.seal(sender, reply, now, 'stranger'), from);
  }

  private noteSkew(name: string, key: string, skewMs: number, now: number): void {
    const seen = this.skews.get(key);
    const log = seen === undefined || now - seen.loggedAt >= SKEW_LOG_EVERY_MS;
    this.skews.set(key, { skewMs, at: now, loggedAt: log ? now : seen.loggedAt });
    if (log) {
      this.context.log(
        `messages from ${name} refused: its clock is ${describeSkew(skewMs)} ours (${SKEW_ALLOWANCE}); ${SKEW_HINT}`,
      );
    }
  }

  private drop(reason: InboxDropReason): void {
    this.dropped.set(reason, (this.dropped.get(reason) ?? 0) + 1);
  }
}
