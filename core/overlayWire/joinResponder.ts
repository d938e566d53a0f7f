/**
 * The inviter's side of the join protocol, as a pure state machine. It answers clear join queries for
 * known invites with this node's public key, and sealed join requests with an accept or a reject
 * decided by the node's `redeem`. A joiner whose accept was lost retransmits the same request id;
 * it gets the cached reply again rather than a second redemption, so a single-use code still admits
 * exactly one joiner while a lost reply is retried safely.
 *
 * A request's signature is checked before anything else — before the reply cache, the invite book
 * or the roster: `redeem` only ever sees a signing key its sender proved it holds
 * (joinSignature.ts).
 */
import { hex } from './byteCodec.js';
import { JOIN_REQUEST_ID_SIZE } from './constants.js';
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

  constructor(private readonly options: JoinResponderOptions) {}

  /** A clear 0x81 datagram. Changes no state: it only reveals our public key for a known id. */
  answerQuery(datagram: Uint8Array): QueryAnswer {
    const query = parseJoinQuery(datagram);
    if (!query.ok) return query;
    if (!this.options.isKnownInvite(query.inviteId)) return { ok: false, reason: 'unknownInvite' };
    return { ok: true, reply: encodeJoinQueryReply(query.inviteId, this.options.publicKey) };
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
