/**
 * Questions outside the network's names go to the resolvers the host used before `up`, as they
 * were asked: the query's bytes go out unchanged and the answer's bytes come back unchanged. Each
 * forward is a ticket the server gives its own socket (so its own random source port, RFC 5452
 * §9.2); an answer is relayed only from an upstream the ticket was sent to, with the query's ID
 * and question. The table is bounded and every ticket ends: answered, or timed out, when the
 * client gets SERVFAIL and its stub moves to its next nameserver.
 *
 * I/O-free: the server (server.ts) sends what this returns and feeds it what arrives.
 */
import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import { answers, type Question } from './wire.js';

export interface ForwardLimits {
  /** Forwards outstanding at once; a query beyond them is dropped (its stub asks again). */
  readonly maxPending: number;
  /** Without an answer by then, the query also goes to the next upstream. */
  readonly nextUpstreamAfterMs: number;
  /** Without an answer by then, the client gets SERVFAIL. */
  readonly timeoutMs: number;
}

/** glibc's stub waits 5 s per server (resolv.conf(5) `timeout`): answer before it gives up on us. */
export const DEFAULT_FORWARD_LIMITS: ForwardLimits = {
  maxPending: 128,
  nextUpstreamAfterMs: 1_000,
  timeoutMs: 4_000,
};

export interface Send {
  readonly ticket: number;
  readonly to: Endpoint;
  readonly bytes: Uint8Array;
}

export interface Pending {
  readonly ticket: number;
  readonly client: Endpoint;
  readonly query: Uint8Array;
  readonly question: Question;
  /** How many of the upstreams (in order) it has gone to. */
  tried: number;
  nextAt: number;
  readonly deadline: number;
}

export class Forwarder {
  private readonly pending = new Map<number, Pending>();
  private nextTicket = 1;

  constructor(
    private readonly upstreams: readonly Endpoint[],
    private readonly limits: ForwardLimits = DEFAULT_FORWARD_LIMITS,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  get hasUpstreams(): boolean {
    return this.upstreams.length > 0;
  }

  /** A new forward, or why not: the table is full, or the host had no resolvers to forward to. */
  start(query: Uint8Array, question: Question, client: Endpoint, now: number): Send | 'full' | 'no-upstream' {
    const first = this.upstreams[0];
    if (!first) return 'no-upstream';
    if (this.pending.size >= this.limits.maxPending) return 'full';
    const ticket = this.nextTicket++;
    this.pending.set(ticket, {
      ticket,
      client,
      query,
      question,
      tried: 1,
      nextAt: now + this.limits.nextUpstreamAfterMs,
      deadline: now + this.limits.timeoutMs,
    });
    return { ticket, to: first, bytes: query };
  }

  /**
   * An answer on a ticket's socket: the bytes to relay to its client and the ticket closed, or
   * why it was ignored (the ticket stays open for the right answer).
   */
  answer(
    ticket: number,
    bytes: Uint8Array,
    from: Endpoint,
  ): { client: Endpoint; bytes: Uint8Array } | 'unknown' | 'stranger' | 'mismatch' {
    const p = this.pending.get(ticket);
    if (!p) return 'unknown';
    if (!this.upstreams.slice(0, p.tried).some((u) => sameEndpoint(u, from))) return 'stranger';
    if (!answers(bytes, p.query, p.question)) return 'mismatch';
    this.pending.delete(ticket);
    return { client: p.client, bytes };
  }

  /** Sends to the next upstream for slow forwards, and ends those past their deadline. */
  tick(now: number): { send: Send[]; expired: Pending[] } {
    const send: Send[] = [];
    const expired: Pending[] = [];
    for (const p of this.pending.values()) {
      if (now >= p.deadline) {
        expired.push(p);
        this.pending.delete(p.ticket);
        continue;
      }
      if (now >= p.nextAt && p.tried < this.upstreams.length) {
        send.push({ ticket: p.ticket, to: this.upstreams[p.tried]!, bytes: p.query });
        p.tried += 1;
        p.nextAt = now + this.limits.nextUpstreamAfterMs;
      }
    }
    return { send, expired };
  }

  /** When tick has something to do next, or null with nothing pending. */
  nextWakeAt(): number | null {
    let at: number | null = null;
    for (const p of this.pending.values()) {
      const next = p.tried < this.upstreams.length ? Math.min(p.nextAt, p.deadline) : p.deadline;
      if (at === null || next < at) at = next;
    }
    return at;
  }

  /** Every open ticket, ended (the server is stopping). */
  clear(): number[] {
    const tickets = [...this.pending.keys()];
    this.pending.clear();
    return tickets;
  }
}
