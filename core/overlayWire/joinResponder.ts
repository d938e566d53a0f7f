/**
 * The inviter's side of the join protocol, as a pure state machine. It answers clear join queries for
 * known invites with this node's public key, and sealed join requests with an accept or a reject
 * decided by the node's `redeem`. A joiner whose accept was lost retransmits the same request id;
 * it gets the cached reply again rather than a second redemption, so a single-use code still admits
 * exactly one joiner while a lost reply is retried safely.
 *
 * A would-be joiner is a stranger, and a stranger's sealed datagram costs a Diffie-Hellman to
 * open. So the node opens one only from an address this responder just answered a query from for
 * an invite it holds (`expectsJoinFrom`): junk from anywhere else is dropped before any key work,
 * and the table of such addresses is small and short-lived.
 *
 * A request's signature is checked before anything else — before the reply cache, the invite book
 * or the roster: `redeem` only ever sees a signing key its sender proved it holds
 * (joinSignature.ts).
 */
import { hex } from '../base/bytes.js';
import { describeSkew, MAX_CLOCK_SKEW_MS, SKEW_ALLOWANCE } from '../clockSkew.js';
import { JOIN_REQUEST_ID_SIZE, MAX_PENDING_JOINS, PENDING_JOIN_MS } from './constants.js';
import {
  type JoinAccept,
  type JoinReject,
  type JoinRejectReason,
  type JoinRequest,
  MAX_ACCEPT_BYTES,
  printableDetail,
} from './innerMessage.js';
import { encodeJoinQueryReply, type JoinQueryDropReason, parseJoinQuery } from './joinQuery.js';
import { verifyJoinRequest } from './joinSignature.js';

/**
 * What the inviter knows about the joiner when it decides: the WireGuard key is authenticated by the
 * seal, the signing key by the request's signature; the rest is what the joiner signed.
 */
export interface JoinerInfo {
  readonly publicKey: Uint8Array;
  readonly name: string;
  readonly signingPublicKey: Uint8Array;
  readonly listenPort: number;
  readonly endpoints: readonly string[];
  /** "ip:port" the request came from: the joiner's address as this node sees it. */
  readonly from: string;
}

export type RedeemResult =
  | { ok: true; acceptBytes: Uint8Array }
  | { ok: false; reason: JoinRejectReason; detail?: string };

export interface JoinResponderOptions {
  /** This node's WireGuard public key, the answer to a query for a known invite. */
  readonly publicKey: Uint8Array;
  /**
   * Whether to answer a query for this id. True for every id the invite book still holds, even a
   * used, expired or revoked one, so that the joiner goes on to learn *why* from the sealed reject;
   * false for ids never issued (scanners then hear nothing: an id is 128 random bits, unguessable).
   */
  readonly isKnownInvite: (inviteId: string) => boolean;
  /**
   * Checks the secret (in constant time), consumes a use and issues the certificate. `acceptBytes`
   * must be at most MAX_ACCEPT_BYTES; a bigger one is refused as an inviter error.
   */
  readonly redeem: (inviteId: string, secret: Uint8Array, joiner: JoinerInfo, now: number) => RedeemResult;
  /** How long a reply is kept for retransmitted requests; longer than the joiner's retry span. */
  readonly replyCacheMs?: number;
  readonly replyCacheSize?: number;
}

export type QueryAnswer =
  | { ok: true; reply: Uint8Array }
  | { ok: false; reason: JoinQueryDropReason | 'unknownInvite' };

const DEFAULT_REPLY_CACHE_MS = 60_000;
const DEFAULT_REPLY_CACHE_SIZE = 256;

export class JoinResponder {
  /** (joiner key, request id) → reply, in insertion order for eviction. */
  private readonly replies = new Map<string, { reply: JoinAccept | JoinReject; expiresAt: number }>();
  /** "ip:port" that asked about an invite we hold → until when its sealed request is expected. */
  private readonly pending = new Map<string, number>();

  constructor(private readonly options: JoinResponderOptions) {}

  /**
   * A clear 0x81 datagram from `from`. It only reveals our public key for a known id, and
   * remembers for a while that `from` may now send a sealed join request.
   */
  answerQuery(datagram: Uint8Array, from: string, now: number): QueryAnswer {
    const query = parseJoinQuery(datagram);
    if (!query.ok) return query;
    if (!this.options.isKnownInvite(query.inviteId)) return { ok: false, reason: 'unknownInvite' };
    this.pending.delete(from);
    this.pending.set(from, now + PENDING_JOIN_MS);
    for (const [address, until] of this.pending) {
      if (this.pending.size <= MAX_PENDING_JOINS && until > now) break;
      this.pending.delete(address);
    }
    return { ok: true, reply: encodeJoinQueryReply(query.inviteId, this.options.publicKey) };
  }

  /** Whether a stranger's sealed datagram from `from` may be opened: it asked about an invite. */
  expectsJoinFrom(from: string, now: number): boolean {
    const until = this.pending.get(from);
    return until !== undefined && until > now;
  }

  /**
   * A join request that arrived sealed (so `joinerPublicKey` is authenticated). Returns the inner
   * reply for the node to seal back to `joinerPublicKey` at `from`.
   */
  answerRequest(
    joinerPublicKey: Uint8Array,
    request: JoinRequest,
    from: string,
    now: number,
    sentAt: number = now,
  ): JoinAccept | JoinReject {
    const requestId = request.requestId.slice(0, JOIN_REQUEST_ID_SIZE);
    if (!verifyJoinRequest(request, { inviterPublicKey: this.options.publicKey, joinerPublicKey })) {
      // Not cached: it changed nothing, and the sender may retry with a signature that holds.
      return {
        kind: 'joinReject',
        requestId,
        reason: 'bad-signature',
        detail: 'the join request is not signed by the signing key it names',
      };
    }
    this.forgetExpired(now);
    const key = `${hex(joinerPublicKey)}/${hex(request.requestId)}`;
    const cached = this.replies.get(key);
    if (cached !== undefined) return cached.reply;
    const skewMs = sentAt - now;
    if (Math.abs(skewMs) > MAX_CLOCK_SKEW_MS) {
      // Checked before the invite is looked at: a member this far off could not talk to anyone.
      const detail = `your clock is ${describeSkew(skewMs)} the inviter's (${SKEW_ALLOWANCE})`;
      return this.remember(
        key,
        { kind: 'joinReject', requestId, reason: 'clock-skew', detail: printableDetail(detail) },
        now,
      );
    }

    const joiner: JoinerInfo = {
      publicKey: joinerPublicKey,
      name: request.name,
      signingPublicKey: request.signingPublicKey,
      listenPort: request.listenPort,
      endpoints: request.endpoints,
      from,
    };
    const outcome = this.options.redeem(request.inviteId, request.secret, joiner, now);
    let reply: JoinAccept | JoinReject;
    if (outcome.ok && outcome.acceptBytes.length <= MAX_ACCEPT_BYTES) {
      reply = { kind: 'joinAccept', requestId, accept: outcome.acceptBytes };
    } else if (outcome.ok) {
      reply = {
        kind: 'joinReject',
        requestId,
        reason: 'other',
        detail: 'the inviter could not fit its reply',
      };
    } else {
      reply = {
        kind: 'joinReject',
        requestId,
        reason: outcome.reason,
        detail: printableDetail(outcome.detail ?? ''),
      };
    }
    return this.remember(key, reply, now);
  }

  private remember(key: string, reply: JoinAccept | JoinReject, now: number): JoinAccept | JoinReject {
    if (this.replies.size >= (this.options.replyCacheSize ?? DEFAULT_REPLY_CACHE_SIZE)) {
      const oldest = this.replies.keys().next().value;
      if (oldest !== undefined) this.replies.delete(oldest);
    }
    this.replies.set(key, { reply, expiresAt: now + (this.options.replyCacheMs ?? DEFAULT_REPLY_CACHE_MS) });
    return reply;
  }

  private forgetExpired(now: number): void {
    for (const [key, entry] of this.replies) {
      if (entry.expiresAt > now) return;
      this.replies.delete(key);
    }
  }
}
