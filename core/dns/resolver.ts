/**
 * The node's resolver, I/O-free: datagrams and the time in, datagrams out. The server (server.ts)
 * owns the sockets.
 *
 * A query is looked at in this order, each step cheaper than the next and able to end it:
 *   1. who sent it: this host (its overlay addresses, loopback) or a member (an address a member
 *      holds now); anyone else is dropped, so the resolver is no open resolver for the underlay;
 *   2. the rate limits (rateLimit.ts), keyed by source, before any parsing;
 *   3. the header and question (wire.ts); junk and answers are dropped, counted, never thrown;
 *   4. the name: the network's zone and its members' reverse names are answered here from the
 *      name table (zone.ts) — A, AAAA, PTR; NXDOMAIN for a name that does not exist, NODATA
 *      (NOERROR, no answer) for a type a name does not have, with the zone's SOA for negative
 *      caching (RFC 2308 §3); everything else is forwarded, unchanged, to the host's own resolvers
 *      (forwarder.ts) — for this host only: members are refused, not served as an open forwarder,
 *      and other `.internal` names are refused too (another network's zone on this host: glibc
 *      then asks that network's resolver, next in resolv.conf).
 */
import * as dnsPacket from 'dns-packet';
import type { Endpoint } from '../base/endpoint.js';
import { parseIPv4 } from '../base/ip.js';
import { DEFAULT_FORWARD_LIMITS, Forwarder, type ForwardLimits, type Send } from './forwarder.js';
import { DEFAULT_RATE_LIMITS, RateLimiter, type RateLimits } from './rateLimit.js';
import { bareReply, CLASS_ANY, CLASS_IN, type Question, RCODE, readQuestion, TYPE } from './wire.js';
import { type NameTable, PRIVATE_TLD, placeOf } from './zone.js';

/** Seconds a member's records may be cached: short, so a kick or a new member shows within seconds. */
export const RECORD_TTL_S = 5;
/** The SOA's minimum, the TTL of negative answers (RFC 2308 §5). */
export const NEGATIVE_TTL_S = 5;
/** What a reply to an EDNS query advertises (RFC 6891 §6.2.5; 1232 is DNS Flag Day 2020's choice). */
const EDNS_PAYLOAD = 1232;

export interface ResolverOptions {
  names: NameTable;
  /** This node's own overlay addresses: queries from them, or from loopback, are this host's. */
  ownAddresses: readonly string[];
  /** The host's resolvers before `up` (port 53 unless given). */
  upstreams: readonly Endpoint[];
  rateLimits?: RateLimits;
  forwardLimits?: ForwardLimits;
  now: number;
}

/** What to send after one event. */
export interface ResolverStep {
  /** Datagrams for clients, from the resolver's own socket. */
  readonly replies: { to: Endpoint; bytes: Uint8Array }[];
  /** Datagrams for upstreams, each from its ticket's own socket (opened on its first send). */
  readonly forwards: Send[];
  /** Tickets whose sockets can close. */
  readonly closed: number[];
}

type Who = 'host' | 'member';

export class Resolver {
  private names: NameTable;
  private readonly own: Set<string>;
  private readonly limiter: RateLimiter;
  private readonly forwarder: Forwarder;
  private readonly counts = new Map<string, number>();

  constructor(options: ResolverOptions) {
    this.names = options.names;
    this.own = new Set(options.ownAddresses);
    this.limiter = new RateLimiter(options.rateLimits ?? DEFAULT_RATE_LIMITS, options.now);
    // Never to ourselves: that would be a loop.
    const upstreams = options.upstreams.filter((u) => !this.own.has(u.address));
    this.forwarder = new Forwarder(upstreams, options.forwardLimits ?? DEFAULT_FORWARD_LIMITS);
  }

  /** The zone, without a trailing dot. */
  get zone(): string {
    return this.names.zone;
  }

  /** A new snapshot of the members (gossip brought a member, a kick, an expiry). */
  setNames(names: NameTable): void {
    this.names = names;
  }

  /** Queries, answers, forwards, and drops by reason (`dropped.REASON`), for `overlay status`. */
  counters(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  /** A datagram on the resolver's socket. */
  receive(bytes: Uint8Array, from: Endpoint, now: number): ResolverStep {
    const step: ResolverStep = { replies: [], forwards: [], closed: [] };
    const who = this.who(from.address);
    if (!who) return this.drop(step, 'stranger');
    // This host's clients all come from its own address: one bucket per socket, so one program's
    // flood does not starve the next program's lookups. A member is one bucket.
    const allowed = this.limiter.allow(who === 'host' ? `${from.address}:${from.port}` : from.address, now);
    if (allowed !== 'ok') return this.drop(step, allowed === 'source' ? 'rateSource' : 'rateTotal');
    const q = readQuestion(bytes);
    if (typeof q === 'string') return this.drop(step, 'malformed');
    // An answer arriving here is never asked for; answering it could start a loop.
    if (q.flags & 0x8000) return this.drop(step, 'notQuery');
    this.count('queries');
    const reply = (b: Uint8Array) => {
      step.replies.push({ to: from, bytes: b });
      return step;
    };
    if (q.opcode !== 0) return reply(bareReply(bytes, q, RCODE.notImp, false));
    const place = placeOf(q.labels, this.names);
    if (place.kind === 'outside') {
      // A member asks for ours only. So does the host, for a private-use name (.internal) of
      // another zone: another network's on this host, whose resolver comes after this one in
      // resolv.conf, and glibc asks the next nameserver on REFUSED (resolvConf.ts); the host's
      // own resolvers could only say it does not exist, and glibc would stop there.
      if (who !== 'host' || q.labels.at(-1) === PRIVATE_TLD) {
        this.count('refused');
        return reply(bareReply(bytes, q, RCODE.refused, false));
      }
      return this.forward(step, bytes, q, from, now);
    }
    this.count('answered');
    // Only names of letters, digits, - and _ are ours to answer: no member has any other.
    if (!q.plain || place.kind === 'deep') return reply(this.negative(bytes, q, RCODE.nxDomain, place.kind));
    if (q.qclass !== CLASS_IN && q.qclass !== CLASS_ANY)
      return reply(bareReply(bytes, q, RCODE.refused, true));
    return reply(this.authoritative(bytes, q, place));
  }

  /** A datagram on a forward's socket. */
  upstreamAnswer(ticket: number, bytes: Uint8Array, from: Endpoint): ResolverStep {
    const step: ResolverStep = { replies: [], forwards: [], closed: [] };
    const result = this.forwarder.answer(ticket, bytes, from);
    if (result === 'unknown') return step;
    if (typeof result === 'string')
      return this.drop(step, `upstream${result[0]!.toUpperCase()}${result.slice(1)}`);
    step.replies.push({ to: result.client, bytes: result.bytes });
    step.closed.push(ticket);
    return step;
  }

  /** Forwards that waited long enough go to the next upstream, or end in SERVFAIL. */
  tick(now: number): ResolverStep {
    const { send, expired } = this.forwarder.tick(now);
    const step: ResolverStep = { replies: [], forwards: send, closed: [] };
    for (const p of expired) {
      this.count('upstreamTimeout');
      step.replies.push({ to: p.client, bytes: bareReply(p.query, p.question, RCODE.servFail, false) });
      step.closed.push(p.ticket);
    }
    return step;
  }

  nextWakeAt(): number | null {
    return this.forwarder.nextWakeAt();
  }

  /** Ends every forward (the server is stopping): the tickets whose sockets to close. */
  stop(): number[] {
    return this.forwarder.clear();
  }

  /** Whether `address` may ask at all (this host, or a member now): a TCP client is checked at connect. */
  accepts(address: string): boolean {
    return this.who(address) !== undefined;
  }

  private who(address: string): Who | undefined {
    if (this.own.has(address) || isLoopback(address)) return 'host';
    // A member is an address a member holds now: not any address of the subnets (a kicked
    // member's, or one a LAN neighbour puts on a datagram it routes to us).
    return this.names.memberAt(address) ? 'member' : undefined;
  }

  private forward(
    step: ResolverStep,
    bytes: Uint8Array,
    q: Question,
    from: Endpoint,
    now: number,
  ): ResolverStep {
    const started = this.forwarder.start(bytes, q, from, now);
    if (started === 'full') return this.drop(step, 'forwardFull');
    if (started === 'no-upstream') {
      this.count('noUpstream');
      step.replies.push({ to: from, bytes: bareReply(bytes, q, RCODE.servFail, false) });
      return step;
    }
    this.count('forwarded');
    step.forwards.push(started);
    return step;
  }

  private authoritative(
    query: Uint8Array,
    q: Question,
    place: ReturnType<typeof placeOf> & { kind: 'apex' | 'member' | 'reverse' },
  ): Uint8Array {
    const name = q.labels.join('.');
    const asked = (type: number) => q.type === type || q.type === TYPE.ANY;
    const answers: dnsPacket.Answer[] = [];
    if (place.kind === 'apex') {
      if (asked(TYPE.SOA)) answers.push(this.soa(name));
    } else if (place.kind === 'member') {
      const m = this.names.member(place.name);
      if (!m) return this.negative(query, q, RCODE.nxDomain, place.kind);
      if (asked(TYPE.A)) answers.push({ name, type: 'A', class: 'IN', ttl: RECORD_TTL_S, data: m.ipv4 });
      if (asked(TYPE.AAAA))
        answers.push({ name, type: 'AAAA', class: 'IN', ttl: RECORD_TTL_S, data: m.ipv6 });
    } else {
      const m = this.names.memberAt(place.address);
      if (!m) return this.negative(query, q, RCODE.nxDomain, place.kind);
      const target = `${m.name}.${this.names.zone}`;
      if (asked(TYPE.PTR)) answers.push({ name, type: 'PTR', class: 'IN', ttl: RECORD_TTL_S, data: target });
    }
    if (answers.length === 0) return this.negative(query, q, RCODE.noError, place.kind);
    return withRecords(query, q, RCODE.noError, { answers });
  }

  /** NXDOMAIN or NODATA; in the zone, with its SOA so resolvers cache the "no" briefly. */
  private negative(query: Uint8Array, q: Question, rcode: number, kind: string): Uint8Array {
    const authorities = kind === 'reverse' || !q.plain ? [] : [this.soa(this.names.zone)];
    return withRecords(query, q, rcode, { answers: [], authorities });
  }

  private soa(name: string): dnsPacket.Answer {
    const zone = this.names.zone;
    return {
      name,
      type: 'SOA',
      class: 'IN',
      ttl: NEGATIVE_TTL_S,
      data: {
        mname: zone,
        rname: `hostmaster.${zone}`,
        serial: 1,
        refresh: 3600,
        retry: 600,
        expire: 86400,
        minimum: NEGATIVE_TTL_S,
      },
    };
  }

  private drop(step: ResolverStep, reason: string): ResolverStep {
    this.count('dropped');
    this.count(`dropped.${reason}`);
    return step;
  }

  private count(name: string): void {
    this.counts.set(name, (this.counts.get(name) ?? 0) + 1);
  }
}

function isLoopback(address: string): boolean {
  const v4 = parseIPv4(address);
  return v4 ? v4[0] === 127 : address === '::1';
}

/** Whether the query carries an EDNS OPT record right after its question (RFC 6891 §6.1.1). */
function hasEdns(query: Uint8Array, q: Question): boolean {
  return (
    q.arcount === 1 &&
    q.ancount === 0 &&
    q.nscount === 0 &&
    query[q.end] === 0 &&
    query[q.end + 1] === 0 &&
    query[q.end + 2] === TYPE.OPT
  );
}

/**
 * A reply: our header, the question exactly as asked (bareReply), then the records as dns-packet
 * encodes them, and an OPT record when the query had one.
 */
function withRecords(
  query: Uint8Array,
  q: Question,
  rcode: number,
  sections: { answers: dnsPacket.Answer[]; authorities?: dnsPacket.Answer[] },
): Uint8Array {
  const head = bareReply(query, q, rcode, true);
  const additionals: dnsPacket.Answer[] = hasEdns(query, q)
    ? [
        {
          name: '.',
          type: 'OPT',
          udpPayloadSize: EDNS_PAYLOAD,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ]
    : [];
  const records = dnsPacket.encode({
    type: 'response',
    id: q.id,
    flags: 0,
    questions: [],
    answers: sections.answers,
    authorities: sections.authorities ?? [],
    additionals,
  });
  const out = new Uint8Array(head.length + records.length - 12);
  out.set(head);
  out.set(records.subarray(12), head.length);
  // ANCOUNT, NSCOUNT, ARCOUNT as dns-packet counted them.
  out.set(records.subarray(6, 12), 6);
  return out;
}
