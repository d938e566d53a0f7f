/**
 * Learning our reflexive (public) address from the STUN servers the user lists (--stun), as a
 * pure state machine in the style of core/discovery: the node gives it datagrams and the time and
 * carries out the sends; it never touches a socket or a clock.
 *
 * Each server gets one Binding transaction at a time (RFC 8489 §6.2.1): a request, sent again
 * with the same transaction id after 500 ms, 1 s, 2 s, 4 s, and given up 8 s after the fifth
 * send. A transaction that succeeds is followed by another 25 s later, which keeps the NAT's
 * mapping open and notices when it changes; one that fails reports the server unreachable once,
 * forgets what it told us, and is tried again 25 s later.
 */
import { randomBytes } from 'node:crypto';
import { bytesEqual } from '../base/bytes.js';
import { type Endpoint, formatEndpoint, parseEndpoint, sameEndpoint } from '../base/endpoint.js';
import { OverlayError } from '../errors.js';
import {
  MAX_STUN_SERVERS,
  STUN_MAX_SENDS,
  STUN_REFRESH_MS,
  STUN_RETRY_MS,
  STUN_RTO_MS,
  TXID_SIZE,
} from './constants.js';
import { decodeBindingResponse, encodeBindingRequest } from './message.js';

export interface StunClientOptions {
  /** Server endpoints, already resolved: 'IP:PORT' or '[IPv6]:PORT'. */
  readonly servers: readonly string[];
  /** `size` random bytes, for transaction ids; crypto.randomBytes unless a test injects its own. */
  readonly random?: (size: number) => Uint8Array;
}

export interface StunSend {
  readonly to: Endpoint;
  readonly datagram: Uint8Array;
}

export type StunEvent =
  /** What `server` says our address is, when that differs from what it said last (or it said nothing). */
  | { readonly type: 'reflexive'; readonly server: string; readonly endpoint: string }
  /** A whole transaction to `server` went unanswered; once per failed transaction. */
  | { readonly type: 'unreachable'; readonly server: string };

export interface StunOutput {
  readonly send: StunSend[];
  readonly events: StunEvent[];
  /** When to call `tick` next; Infinity before `start`. */
  readonly nextWakeAt: number;
}

/** Datagrams `receive` dropped, by why: none of them changes any state. */
export interface StunIgnored {
  /** Not a Binding success response we can read (including error responses). */
  readonly undecodable: number;
  /** From an endpoint that is none of our servers. */
  readonly unknownSource: number;
  /** From a server, but with a transaction id we have not outstanding to it (late, replayed or forged). */
  readonly wrongTxid: number;
}

interface ServerState {
  /** The server's endpoint, and its canonical text: how events and current() name it. */
  readonly at: Endpoint;
  readonly server: string;
  /** The transaction in flight, if any. */
  txid: Uint8Array | undefined;
  /** Requests sent in the transaction in flight. */
  sends: number;
  /** The next retransmission, give-up or new transaction. */
  dueAt: number;
  /** Our endpoint as this server last saw it. */
  reflexive: Endpoint | undefined;
}

export class StunClient {
  private readonly servers: ServerState[];
  private readonly random: (size: number) => Uint8Array;
  private started = false;
  private readonly dropped = { undecodable: 0, unknownSource: 0, wrongTxid: 0 };

  constructor(options: StunClientOptions) {
    if (options.servers.length > MAX_STUN_SERVERS)
      throw new OverlayError(
        'EUSAGE',
        `at most ${MAX_STUN_SERVERS} STUN servers, not ${options.servers.length}`,
      );
    const seen = new Set<string>();
    this.servers = [];
    for (const text of options.servers) {
      const at = parseEndpoint(text);
      if (at === undefined)
        throw new OverlayError('EUSAGE', `not a STUN server endpoint: ${JSON.stringify(text)}`, {
          hint: 'give an address and port, like 192.0.2.1:3478 or [2001:db8::1]:3478',
        });
      const server = formatEndpoint(at);
      if (seen.has(server)) continue;
      seen.add(server);
      this.servers.push({ at, server, txid: undefined, sends: 0, dueAt: 0, reflexive: undefined });
    }
    this.random = options.random ?? ((size) => randomBytes(size));
  }

  /** Asks every server at once. */
  start(now: number): StunOutput {
    if (!this.started) {
      this.started = true;
      for (const s of this.servers) s.dueAt = now;
    }
    return this.tick(now);
  }

  /** Retransmissions, give-ups and refreshes due by `now`. Call again at `nextWakeAt`. */
  tick(now: number): StunOutput {
    const send: StunSend[] = [];
    const events: StunEvent[] = [];
    if (!this.started) return { send, events, nextWakeAt: Number.POSITIVE_INFINITY };
    for (const s of this.servers) {
      if (now < s.dueAt) continue;
      if (s.txid === undefined) {
        s.txid = this.newTxid();
        s.sends = 0;
      } else if (s.sends >= STUN_MAX_SENDS) {
        s.txid = undefined;
        s.reflexive = undefined;
        s.dueAt = now + STUN_RETRY_MS;
        events.push({ type: 'unreachable', server: s.server });
        continue;
      }
      send.push({ to: s.at, datagram: encodeBindingRequest(s.txid) });
      // RFC 8489 §6.2.1: the wait doubles after each send; the last one too (Rm × RTO).
      s.dueAt = now + STUN_RTO_MS * 2 ** s.sends;
      s.sends++;
    }
    return { send, events, nextWakeAt: this.nextWakeAt() };
  }

  /**
   * A STUN datagram (the data path's 'stun' event) from `from`. Taken only when it answers
   * the transaction in flight to the server at that very endpoint; anything else is counted and
   * dropped, so an off-path sender must guess a 96-bit id to plant an address.
   */
  receive(datagram: Uint8Array, from: Endpoint, now: number): StunOutput {
    const events: StunEvent[] = [];
    const s = this.servers.find((x) => sameEndpoint(x.at, from));
    const response = decodeBindingResponse(datagram);
    if (s === undefined) this.dropped.unknownSource++;
    else if (!response.ok) this.dropped.undecodable++;
    else if (s.txid === undefined || !bytesEqual(s.txid, response.txid)) this.dropped.wrongTxid++;
    else {
      s.txid = undefined;
      s.dueAt = now + STUN_REFRESH_MS;
      if (!sameEndpoint(response.mapped, s.reflexive)) {
        s.reflexive = response.mapped;
        // Decoded from its address bytes, so already in its one spelling.
        events.push({ type: 'reflexive', server: s.server, endpoint: formatEndpoint(response.mapped) });
      }
    }
    const out = this.tick(now);
    return { send: out.send, events: [...events, ...out.events], nextWakeAt: out.nextWakeAt };
  }

  /** Each server that answered its latest transaction, and our endpoint as it saw it (text, for status). */
  current(): ReadonlyMap<string, string> {
    const out = new Map<string, string>();
    for (const s of this.servers)
      if (s.reflexive !== undefined) out.set(s.server, formatEndpoint(s.reflexive));
    return out;
  }

  /** Our endpoint as the server at `server` last saw it; undefined before it answered, or for another. */
  seenBy(server: Endpoint): Endpoint | undefined {
    return this.servers.find((s) => sameEndpoint(s.at, server))?.reflexive;
  }

  /** What `receive` dropped so far, by reason. */
  ignored(): StunIgnored {
    return { ...this.dropped };
  }

  private nextWakeAt(): number {
    return this.servers.reduce((at, s) => Math.min(at, s.dueAt), Number.POSITIVE_INFINITY);
  }

  private newTxid(): Uint8Array {
    const txid = this.random(TXID_SIZE);
    if (txid.length !== TXID_SIZE)
      throw new RangeError(`random source gave ${txid.length} bytes, not ${TXID_SIZE}`);
    return Uint8Array.from(txid);
  }
}
