/**
 * The joiner's side of the join protocol, as a pure state machine (datagrams and time in, datagrams
 * and a wake-up time out).
 *
 * 1. query: a clear join query with the invite id goes to every endpoint in the code at once. The
 *    inviter answers with its public key; one that does not hash to the code's inviterKeyHash came
 *    from someone else and is ignored.
 * 2. request: the secret, our name, signing key and endpoints, sealed to the key we just checked, so
 *    the secret never travels in clear and only the real inviter can read it; signed with our
 *    signing key over everything but the secret and bound to that inviter key (joinSignature.ts).
 * 3. a sealed accept or reject from that key, for our request id, ends the attempt.
 * Each phase is retransmitted on a backoff schedule; the request keeps its id across retransmissions
 * so the inviter redeems it at most once.
 */
import { bytesEqual } from '../base/bytes.js';
import { describeSkew, SKEW_ALLOWANCE } from '../clockSkew.js';
import { OverlayError } from '../errors.js';
import { isMemberName, MEMBER_NAME_RULE } from '../membership/certificate.js';
import { type RandomSource, secureRandom } from '../wireguard/primitives.js';
import { isAscii } from './byteCodec.js';
import {
  INVITE_SECRET_SIZE,
  INVITER_KEY_HASH_SIZE,
  JOIN_REQUEST_ID_SIZE,
  MAX_ENDPOINT_LENGTH,
  MAX_ENDPOINTS,
  TYPE_JOIN_QUERY_REPLY,
  TYPE_SEALED,
} from './constants.js';
import { isInviteId, type JoinRejectReason, type JoinRequest, printableDetail } from './innerMessage.js';
import { inviterKeyHash } from './inviterKeyHash.js';
import { encodeJoinQuery, type JoinQueryDropReason, parseJoinQueryReply } from './joinQuery.js';
import { signJoinRequest } from './joinSignature.js';
import { SealedChannel, type SealedDropReason } from './sealed.js';

/** What an invite code carries, decoded. */
export interface InviteTicket {
  readonly inviteId: string;
  readonly secret: Uint8Array;
  readonly inviterKeyHash: Uint8Array;
  /** "ip:port" strings to try, all at once. */
  readonly endpoints: readonly string[];
}

export interface JoinAttemptOptions {
  readonly invite: InviteTicket;
  readonly keys: {
    readonly wireguard: { readonly privateKey: Uint8Array; readonly publicKey: Uint8Array };
    /** Ed25519: the request proves this key (the certificate's subject) by signing with it. */
    readonly signing: { readonly publicKey: Uint8Array; readonly secretKey: Uint8Array };
  };
  readonly name: string;
  readonly listenPort: number;
  /** Endpoints this node announces, besides the address the inviter sees. */
  readonly endpoints?: readonly string[];
  readonly random?: RandomSource;
  /** Wait after each attempt; its length is the number of attempts. Default: 6 attempts over 15 s. */
  readonly retryDelaysMs?: readonly number[];
}

export const DEFAULT_JOIN_RETRY_DELAYS_MS: readonly number[] = [500, 1_000, 2_000, 3_000, 4_000, 4_500];

export type JoinDropReason =
  | SealedDropReason
  | JoinQueryDropReason
  | 'finished'
  | 'unknownType'
  | 'otherInvite'
  | 'wrongInviterKey'
  | 'notFromInviter'
  | 'otherRequest'
  | 'unexpectedMessage';

export type JoinEvent =
  | { kind: 'progress'; attempt: number; of: number }
  /** The inviter answered and proved its key; the secret goes to it next. */
  | { kind: 'inviterFound'; endpoint: string }
  | { kind: 'dropped'; from: string; reason: JoinDropReason };

export type JoinResult =
  | { ok: true; accept: Uint8Array; inviterPublicKey: Uint8Array; inviterEndpoint: string }
  | { ok: false; reason: 'unreachable'; detail: string }
  /** `detail`: the inviter's own words, cut to printable ASCII; '' if it gave none. */
  | { ok: false; reason: 'rejected'; rejectReason: JoinRejectReason; detail: string };

export interface JoinStep {
  readonly send: { to: string; bytes: Uint8Array }[];
  readonly events: JoinEvent[];
  /** Call tick() at this time; null once the attempt is over. */
  readonly nextWakeAt: number | null;
  /** Set exactly once, on the step that ends the attempt. */
  readonly result?: JoinResult;
}

type Phase =
  | { name: 'idle' }
  | { name: 'query'; wrongKeySeen: boolean }
  | { name: 'request'; inviterPublicKey: Uint8Array; endpoint: string; request: JoinRequest }
  | { name: 'done' };

export class JoinAttempt {
  private readonly channel: SealedChannel;
  private readonly delays: readonly number[];
  private readonly requestId: Uint8Array;
  private phase: Phase = { name: 'idle' };
  private attempt = 0;
  private wakeAt: number | null = null;

  constructor(private readonly options: JoinAttemptOptions) {
    const problem = invalidOptions(options);
    if (problem !== null) throw new OverlayError('EUSAGE', problem);
    const random = options.random ?? secureRandom;
    this.delays = options.retryDelaysMs ?? DEFAULT_JOIN_RETRY_DELAYS_MS;
    this.requestId = random(JOIN_REQUEST_ID_SIZE).slice(0, JOIN_REQUEST_ID_SIZE);
    this.channel = new SealedChannel({
      privateKey: options.keys.wireguard.privateKey,
      publicKey: options.keys.wireguard.publicKey,
      random,
    });
  }

  get done(): boolean {
    return this.phase.name === 'done';
  }

  /** Sends the first queries. `now` is wall-clock ms (sealed messages carry it). */
  start(now: number): JoinStep {
    if (this.phase.name !== 'idle') return this.step([], []);
    this.phase = { name: 'query', wrongKeySeen: false };
    return this.nextAttempt(now);
  }

  tick(now: number): JoinStep {
    if (this.phase.name === 'idle' || this.phase.name === 'done') return this.step([], []);
    if (this.wakeAt !== null && now < this.wakeAt) return this.step([], []);
    if (this.attempt >= this.delays.length) return this.finish(this.unreachable(), []);
    return this.nextAttempt(now);
  }

  receive(datagram: Uint8Array, from: string, now: number): JoinStep {
    const drop = (reason: JoinDropReason) => this.step([], [{ kind: 'dropped', from, reason }]);
    if (this.phase.name === 'done' || this.phase.name === 'idle') return drop('finished');
    if (datagram[0] === TYPE_JOIN_QUERY_REPLY) {
      if (this.phase.name !== 'query') return drop('unexpectedMessage');
      const reply = parseJoinQueryReply(datagram);
      if (!reply.ok) return drop(reply.reason);
      if (reply.inviteId !== this.options.invite.inviteId) return drop('otherInvite');
      if (!bytesEqual(inviterKeyHash(reply.inviterPublicKey), this.options.invite.inviterKeyHash)) {
        // Someone else at that address (or a spoofer): never send it the secret; keep waiting.
        this.phase.wrongKeySeen = true;
        return drop('wrongInviterKey');
      }
      this.phase = {
        name: 'request',
        inviterPublicKey: reply.inviterPublicKey,
        endpoint: from,
        request: this.signedRequest(reply.inviterPublicKey),
      };
      const send = [{ to: from, bytes: this.sealedRequest(now) }];
      this.wakeAt = now + this.currentDelay();
      return this.step(send, [{ kind: 'inviterFound', endpoint: from }]);
    }
    if (datagram[0] !== TYPE_SEALED) return drop('unknownType');
    if (this.phase.name !== 'request') return drop('unexpectedMessage');
    // Cheap check before any X25519: the header names the sender.
    if (!bytesEqual(datagram.subarray(1, 33), this.phase.inviterPublicKey)) return drop('notFromInviter');
    // The reply names our unguessable request id, so it needs no replay state; and it must be
    // read even when the clocks disagree, to say by how much.
    const opened = this.channel.open(datagram, now, { standing: 'stranger' });
    if (!opened.ok) return drop(opened.reason);
    const m = opened.message;
    if (m.kind !== 'joinAccept' && m.kind !== 'joinReject') return drop('unexpectedMessage');
    if (!bytesEqual(m.requestId, this.requestId)) return drop('otherRequest');
    if (m.kind === 'joinAccept') {
      const result: JoinResult = {
        ok: true,
        accept: m.accept,
        inviterPublicKey: this.phase.inviterPublicKey,
        inviterEndpoint: this.phase.endpoint,
      };
      return this.finish(result, []);
    }
    // The inviter (any admin) is not trusted with the joiner's terminal: printable ASCII only. A
    // clock-skew refusal is said in the joiner's own measure, from the reply's timestamp.
    const detail =
      m.reason === 'clock-skew'
        ? `this machine's clock is ${describeSkew(now - opened.sentAt)} the inviter's (${SKEW_ALLOWANCE})`
        : printableDetail(m.detail);
    return this.finish({ ok: false, reason: 'rejected', rejectReason: m.reason, detail }, []);
  }

  private nextAttempt(now: number): JoinStep {
    this.attempt++;
    const send: { to: string; bytes: Uint8Array }[] = [];
    if (this.phase.name === 'query') {
      const query = encodeJoinQuery(this.options.invite.inviteId);
      for (const to of this.options.invite.endpoints) send.push({ to, bytes: query });
    } else if (this.phase.name === 'request') {
      // A fresh seal each time (the inviter's replay guard drops identical bytes); same request id.
      send.push({ to: this.phase.endpoint, bytes: this.sealedRequest(now) });
    }
    this.wakeAt = now + this.currentDelay();
    return this.step(send, [{ kind: 'progress', attempt: this.attempt, of: this.delays.length }]);
  }

  private currentDelay(): number {
    return this.delays[Math.min(this.attempt, this.delays.length) - 1] ?? 0;
  }

  /** Signed once per attempt: retransmissions carry the same request, only sealed afresh. */
  private signedRequest(inviterPublicKey: Uint8Array): JoinRequest {
    const o = this.options;
    const fields = {
      requestId: this.requestId,
      inviteId: o.invite.inviteId,
      name: o.name,
      signingPublicKey: o.keys.signing.publicKey,
      listenPort: o.listenPort,
      endpoints: o.endpoints ?? [],
    };
    const parties = { inviterPublicKey, joinerPublicKey: o.keys.wireguard.publicKey };
    const signature = signJoinRequest(fields, parties, o.keys.signing.secretKey);
    return { kind: 'joinRequest', ...fields, secret: o.invite.secret, signature };
  }

  private sealedRequest(now: number): Uint8Array {
    if (this.phase.name !== 'request') throw new OverlayError('EINTERNAL', 'no inviter key yet');
    return this.channel.seal(this.phase.inviterPublicKey, this.phase.request, now);
  }

  private unreachable(): JoinResult {
    const tries = `${this.delays.length} attempts`;
    const endpoints = this.options.invite.endpoints.join(', ');
    if (this.phase.name === 'request') {
      return {
        ok: false,
        reason: 'unreachable',
        detail: `the inviter at ${this.phase.endpoint} answered but did not reply to the join request after ${tries}`,
      };
    }
    const wrongKey = this.phase.name === 'query' && this.phase.wrongKeySeen;
    return {
      ok: false,
      reason: 'unreachable',
      detail: wrongKey
        ? `only a node with a different key than the invite's answered at ${endpoints} (${tries})`
        : `no answer from the inviter at ${endpoints} after ${tries}; is its node up and the invite still valid?`,
    };
  }

  private finish(result: JoinResult, events: JoinEvent[]): JoinStep {
    this.phase = { name: 'done' };
    this.wakeAt = null;
    return { send: [], events, nextWakeAt: null, result };
  }

  private step(send: { to: string; bytes: Uint8Array }[], events: JoinEvent[]): JoinStep {
    return { send, events, nextWakeAt: this.phase.name === 'done' ? null : this.wakeAt };
  }
}

function invalidOptions(o: JoinAttemptOptions): string | null {
  if (!isInviteId(o.invite.inviteId)) return 'the invite id is not valid';
  if (o.invite.secret.length !== INVITE_SECRET_SIZE) return 'the invite secret has the wrong size';
  if (o.invite.inviterKeyHash.length !== INVITER_KEY_HASH_SIZE)
    return 'the inviter key hash has the wrong size';
  if (o.invite.endpoints.length === 0) return 'the invite names no endpoint of the inviter';
  if (!isMemberName(o.name)) {
    return `the name ${JSON.stringify(o.name)} is not valid: use ${MEMBER_NAME_RULE}`;
  }
  const own = o.endpoints ?? [];
  if (own.length > MAX_ENDPOINTS || !own.every((e) => e.length > 0 && isAscii(e, MAX_ENDPOINT_LENGTH))) {
    return `at most ${MAX_ENDPOINTS} endpoints, each host:port of at most ${MAX_ENDPOINT_LENGTH} characters`;
  }
  if (!Number.isInteger(o.listenPort) || o.listenPort < 0 || o.listenPort > 0xffff) {
    return 'the listen port must be 0 to 65535';
  }
  return null;
}
