/**
 * The resolver as a state machine: queries in, replies and forwards out, under a given clock. No
 * sockets: what a client and an upstream would see is decoded with dns-packet.
 */
import test from 'ava';
import * as dnsPacket from 'dns-packet';
import fc from 'fast-check';
import type { Endpoint } from '../../core/base/endpoint.js';
import { DEFAULT_RATE_LIMITS } from '../../core/dns/rateLimit.js';
import { Resolver, type ResolverStep } from '../../core/dns/resolver.js';
import { type NamedMember, NameTable, reverseNameOf } from '../../core/dns/zone.js';
import { parseIPv4Subnet, parseIPv6Subnet } from '../../core/membership/addressing.js';

const NOW = 1_750_000_000_000;
const v4 = parseIPv4Subnet('100.80.0.0/16');
const v6 = parseIPv6Subnet('fd11:2233:4455::/64');
const A: NamedMember = { name: 'a', ipv4: '100.80.0.1', ipv6: 'fd11:2233:4455::6450:1' };
const B: NamedMember = { name: 'b', ipv4: '100.80.7.9', ipv6: 'fd11:2233:4455::6450:709' };
const HOST: Endpoint = { address: A.ipv4, port: 40000 };
const MEMBER: Endpoint = { address: B.ipv4, port: 40001 };
const UPSTREAM: Endpoint = { address: '198.51.100.53', port: 53 };
const UPSTREAM2: Endpoint = { address: '198.51.100.54', port: 53 };

function table(members: NamedMember[] = [A, B]): NameTable {
  return new NameTable('home.internal', v4, v6, members);
}

function resolver(options: Partial<ConstructorParameters<typeof Resolver>[0]> = {}): Resolver {
  return new Resolver({
    names: table(),
    ownAddresses: [A.ipv4, A.ipv6],
    upstreams: [UPSTREAM, UPSTREAM2],
    now: NOW,
    ...options,
  });
}

let nextId = 1;
function query(name: string, type: dnsPacket.RecordType = 'A', edns = false): Uint8Array {
  return new Uint8Array(
    dnsPacket.encode({
      type: 'query',
      id: nextId++ & 0xffff,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type, class: 'IN' }],
      ...(edns && {
        additionals: [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: 4096,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          },
        ],
      }),
    }),
  );
}

/** dns-packet decodes the rcode and TTLs; its types leave them out. */
type Reply = dnsPacket.DecodedPacket & { rcode: string; answers?: (dnsPacket.Answer & { ttl?: number })[] };

/** The one reply of a step, decoded. */
function only(step: ResolverStep): Reply {
  if (step.replies.length !== 1) throw new Error(`expected one reply, got ${step.replies.length}`);
  return dnsPacket.decode(Buffer.from(step.replies[0]!.bytes)) as Reply;
}

function ask(r: Resolver, name: string, type: dnsPacket.RecordType = 'A', from = HOST): Reply {
  return only(r.receive(query(name, type), from, NOW));
}

const data = (p: dnsPacket.DecodedPacket) => p.answers?.map((a) => ('data' in a ? a.data : undefined));

test('a member is answered by name: A and AAAA, authoritative, with a short TTL', (t) => {
  const r = resolver();
  const a = ask(r, 'b.home.internal', 'A');
  t.is(a.rcode, 'NOERROR');
  t.true(a.flag_aa);
  t.deepEqual(data(a), [B.ipv4]);
  t.is(a.answers![0]!.ttl, 5);
  t.deepEqual(data(ask(r, 'b.home.internal', 'AAAA')), [B.ipv6]);
});

test('names match whatever their case, and the question comes back as asked', (t) => {
  const r = resolver();
  const reply = ask(r, 'B.Home.INTERNAL', 'A');
  t.deepEqual(data(reply), [B.ipv4]);
  t.is(reply.questions![0]!.name, 'B.Home.INTERNAL');
});

test('a name in the zone that no member holds is NXDOMAIN, with the zone SOA for negative caching', (t) => {
  const r = resolver();
  const reply = ask(r, 'nobody.home.internal', 'A');
  t.is(reply.rcode, 'NXDOMAIN');
  t.deepEqual(reply.answers, []);
  t.is(reply.authorities![0]!.type, 'SOA');
  t.is(ask(r, 'x.b.home.internal', 'A').rcode, 'NXDOMAIN');
});

test('a member asked for a type it has no record of gets NODATA: NOERROR and no answer', (t) => {
  const r = resolver();
  for (const type of ['MX', 'TXT', 'SRV'] as const) {
    const reply = ask(r, 'b.home.internal', type);
    t.is(reply.rcode, 'NOERROR', type);
    t.deepEqual(reply.answers, [], type);
    t.is(reply.authorities![0]!.type, 'SOA', type);
  }
  t.is(ask(r, 'home.internal', 'A').rcode, 'NOERROR');
  t.is(ask(r, 'home.internal', 'SOA').answers![0]!.type, 'SOA');
});

test('the reverse names of members’ IPv4 and IPv6 addresses point at their names', (t) => {
  const r = resolver();
  t.deepEqual(data(ask(r, reverseNameOf(B.ipv4), 'PTR')), ['b.home.internal']);
  t.deepEqual(data(ask(r, reverseNameOf(B.ipv6), 'PTR')), ['b.home.internal']);
  t.is(ask(r, reverseNameOf('100.80.99.99'), 'PTR').rcode, 'NXDOMAIN');
  t.is(ask(r, reverseNameOf('fd11:2233:4455::1234'), 'PTR').rcode, 'NXDOMAIN');
  t.is(ask(r, reverseNameOf(B.ipv4), 'A').rcode, 'NOERROR');
});

test('a reverse name outside the network’s subnets goes upstream', (t) => {
  const r = resolver();
  const step = r.receive(query(reverseNameOf('100.81.0.1'), 'PTR'), HOST, NOW);
  t.is(step.replies.length, 0);
  t.is(step.forwards.length, 1);
});

test('an EDNS query gets an OPT record back; a plain one does not', (t) => {
  const r = resolver();
  const withEdns = only(r.receive(query('a.home.internal', 'A', true), HOST, NOW));
  t.is(withEdns.additionals!.length, 1);
  t.is(withEdns.additionals![0]!.type, 'OPT');
  t.deepEqual(data(withEdns), [A.ipv4]);
  t.is(ask(r, 'a.home.internal').additionals!.length, 0);
});

test('a kicked member is gone as soon as the table is rebuilt without it; a new one appears', (t) => {
  const r = resolver();
  t.is(ask(r, 'b.home.internal').rcode, 'NOERROR');
  const c: NamedMember = { name: 'c', ipv4: '100.80.3.3', ipv6: 'fd11:2233:4455::6450:303' };
  r.setNames(table([A, c]));
  t.is(ask(r, 'b.home.internal').rcode, 'NXDOMAIN');
  t.is(
    r.receive(query('a.home.internal'), MEMBER, NOW).replies.length,
    0,
    'b, kicked, is asked nothing more',
  );
  t.is(ask(r, reverseNameOf(B.ipv4), 'PTR').rcode, 'NXDOMAIN');
  t.deepEqual(data(ask(r, 'c.home.internal')), [c.ipv4]);
});

test("a name outside the zone goes to the host's first resolver as it was asked, and its answer comes back as it was sent", (t) => {
  const r = resolver();
  const q = query('example.com', 'A');
  const step = r.receive(q, HOST, NOW);
  t.is(step.replies.length, 0);
  t.is(step.forwards.length, 1);
  const f = step.forwards[0]!;
  t.deepEqual(f.to, UPSTREAM);
  t.deepEqual(f.bytes, q);
  const upstreamAnswer = new Uint8Array(
    dnsPacket.encode({
      type: 'response',
      id: dnsPacket.decode(Buffer.from(q)).id!,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: [{ name: 'example.com', type: 'A', class: 'IN' }],
      answers: [{ name: 'example.com', type: 'A', ttl: 60, data: '192.0.2.80' }],
    }),
  );
  const back = r.upstreamAnswer(f.ticket, upstreamAnswer, UPSTREAM);
  t.deepEqual(back.replies, [{ to: HOST, bytes: upstreamAnswer }]);
  t.deepEqual(back.closed, [f.ticket]);
  t.is(r.counters()['forwarded'], 1);
});

test('a forwarded answer is relayed only from an upstream it went to, with the same ID and question', (t) => {
  const r = resolver();
  const q = query('example.com', 'A');
  const f = r.receive(q, HOST, NOW).forwards[0]!;
  const response = (id: number, name: string) =>
    new Uint8Array(
      dnsPacket.encode({ type: 'response', id, questions: [{ name, type: 'A', class: 'IN' }], answers: [] }),
    );
  const id = dnsPacket.decode(Buffer.from(q)).id!;
  t.deepEqual(
    r.upstreamAnswer(f.ticket, response(id, 'example.com'), UPSTREAM2).replies,
    [],
    'not asked yet',
  );
  t.deepEqual(r.upstreamAnswer(f.ticket, response(id ^ 1, 'example.com'), UPSTREAM).replies, [], 'other ID');
  t.deepEqual(
    r.upstreamAnswer(f.ticket, response(id, 'example.org'), UPSTREAM).replies,
    [],
    'other question',
  );
  t.deepEqual(r.upstreamAnswer(f.ticket, q, UPSTREAM).replies, [], 'the query itself, not an answer');
  t.is(r.counters()['dropped.upstreamStranger'], 1);
  t.is(r.counters()['dropped.upstreamMismatch'], 3);
  t.is(r.upstreamAnswer(f.ticket, response(id, 'example.com'), UPSTREAM).replies.length, 1, 'the right one');
});

test('a slow upstream: the next one is asked after a second; after four the client gets SERVFAIL', (t) => {
  const r = resolver();
  const q = query('slow.example', 'A');
  const f = r.receive(q, HOST, NOW).forwards[0]!;
  t.deepEqual(r.tick(NOW + 500).forwards, []);
  t.is(r.nextWakeAt(), NOW + 1_000);
  const second = r.tick(NOW + 1_000);
  t.deepEqual(
    second.forwards.map((s) => [s.ticket, s.to]),
    [[f.ticket, UPSTREAM2]],
  );
  const end = r.tick(NOW + 4_000);
  t.deepEqual(end.closed, [f.ticket]);
  const reply = only(end);
  t.is(reply.rcode, 'SERVFAIL');
  t.is(reply.questions![0]!.name, 'slow.example');
  t.is(r.nextWakeAt(), null);
});

test('forwards outstanding at once are bounded; beyond them a query is a counted drop', (t) => {
  const r = resolver({ forwardLimits: { maxPending: 3, nextUpstreamAfterMs: 1_000, timeoutMs: 4_000 } });
  for (let i = 0; i < 3; i++) {
    t.is(r.receive(query(`n${i}.example`), { ...HOST, port: 41000 + i }, NOW).forwards.length, 1);
  }
  const over = r.receive(query('n3.example'), { ...HOST, port: 41003 }, NOW);
  t.deepEqual([over.forwards.length, over.replies.length], [0, 0]);
  t.is(r.counters()['dropped.forwardFull'], 1);
});

test('never forwarded to itself: an upstream that is this node is left out, and with none left the answer is SERVFAIL', (t) => {
  const r = resolver({ upstreams: [{ address: A.ipv4, port: 53 }] });
  t.is(ask(r, 'example.com').rcode, 'SERVFAIL');
  t.is(r.counters()['noUpstream'], 1);
});

test('members are answered for the zone but refused the rest: no open forwarder for the network', (t) => {
  const r = resolver();
  t.deepEqual(data(ask(r, 'a.home.internal', 'A', MEMBER)), [A.ipv4]);
  const refused = r.receive(query('example.com'), MEMBER, NOW);
  t.is(refused.forwards.length, 0);
  t.is(only(refused).rcode, 'REFUSED');
});

test('a source outside the network and this host gets nothing, counted', (t) => {
  const r = resolver();
  // Outside the subnets; and inside them at an address no member holds (spoofed, or left over).
  for (const address of ['192.0.2.7', '100.81.0.1', 'fd99::1', '100.80.9.9', 'fd11:2233:4455::99']) {
    const step = r.receive(query('a.home.internal'), { address, port: 5353 }, NOW);
    t.deepEqual([step.replies.length, step.forwards.length], [0, 0], address);
  }
  t.is(r.counters()['dropped.stranger'], 5);
  t.is(only(r.receive(query('a.home.internal'), { address: '127.0.0.1', port: 5353 }, NOW)).rcode, 'NOERROR');
});

test('a flood from one socket is cut at its rate; another socket of the host is still answered', (t) => {
  const r = resolver();
  let answered = 0;
  for (let i = 0; i < 5_000; i++) answered += r.receive(query('b.home.internal'), HOST, NOW).replies.length;
  t.is(answered, 200, 'the burst, no more');
  t.is(r.counters()['dropped.rateSource'], 4_800);
  t.is(only(r.receive(query('b.home.internal'), { ...HOST, port: 40002 }, NOW)).rcode, 'NOERROR');
  // A second later its bucket has refilled by its rate.
  let later = 0;
  for (let i = 0; i < 1_000; i++)
    later += r.receive(query('b.home.internal'), HOST, NOW + 1_000).replies.length;
  t.is(later, 100);
});

test('a flood spread over many sources meets the total limit', (t) => {
  const r = resolver();
  let answered = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 1_000; i++) {
      answered += r.receive(query('b.home.internal'), { ...HOST, port: 1024 + i }, NOW).replies.length;
    }
  }
  t.is(answered, DEFAULT_RATE_LIMITS.totalBurst);
  t.is(r.counters()['dropped.rateTotal'], 3_000 - DEFAULT_RATE_LIMITS.totalBurst);
});

test('the table of sources is bounded: sources beyond it share one bucket', (t) => {
  const limits = { ...DEFAULT_RATE_LIMITS, total: 1e9, totalBurst: 1e9 };
  const r = resolver({ rateLimits: limits });
  let answered = 0;
  for (let i = 0; i < 10_000; i++) {
    answered += r.receive(query('b.home.internal'), { ...HOST, port: 1024 + i }, NOW).replies.length;
  }
  t.is(answered, limits.maxSources + limits.perSourceBurst);
});

test('answers and junk arriving at the resolver are counted drops, never replies', (t) => {
  const r = resolver();
  const answer = new Uint8Array(
    dnsPacket.encode({ type: 'response', id: 7, questions: [{ name: 'b.home.internal', type: 'A' }] }),
  );
  t.is(r.receive(answer, HOST, NOW).replies.length, 0);
  t.is(r.counters()['dropped.notQuery'], 1);
  t.is(r.receive(new Uint8Array([1, 2, 3]), HOST, NOW).replies.length, 0);
  t.is(r.counters()['dropped.malformed'], 1);
});

test('any bytes at all: no exception, and a reply only to something shaped like a query', (t) => {
  const r = resolver({
    rateLimits: { perSource: 1e9, perSourceBurst: 1e9, total: 1e9, totalBurst: 1e9, maxSources: 10 },
  });
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const step = r.receive(bytes, HOST, NOW);
        for (const reply of step.replies) {
          if (reply.bytes.length < 12 || (reply.bytes[2]! & 0x80) === 0) return false;
          if (reply.bytes[0] !== bytes[0] || reply.bytes[1] !== bytes[1]) return false;
        }
        return step.replies.length + step.forwards.length <= 1;
      }),
      { numRuns: 3_000 },
    ),
  );
});

test('names in the zone with bytes no member name has are NXDOMAIN, the question echoed byte for byte', (t) => {
  const r = resolver();
  // "b.x" as one label: a stub would show it as b\.x.home.internal.
  const q = Uint8Array.from([
    0x12,
    0x34,
    0x01,
    0x00,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    3,
    0x62,
    0x2e,
    0x78,
    4,
    ...Buffer.from('home'),
    8,
    ...Buffer.from('internal'),
    0,
    0,
    1,
    0,
    1,
  ]);
  const step = r.receive(q, HOST, NOW);
  t.is(step.replies.length, 1);
  const reply = step.replies[0]!.bytes;
  t.is(reply[3]! & 0x0f, 3, 'NXDOMAIN');
  t.deepEqual(reply.subarray(12, q.length), q.subarray(12));
});

test("another network's zone (any .internal name but ours) is refused to the host, so glibc asks the next nameserver", (t) => {
  const r = resolver();
  for (const name of ['b.work.internal', 'work.internal', 'x.b.other.internal']) {
    const step = r.receive(query(name), HOST, NOW);
    t.is(
      step.forwards.length,
      0,
      `${name} is not forwarded to the host's resolvers, which would say NXDOMAIN`,
    );
    t.is(only(step).rcode, 'REFUSED', name);
  }
  t.is(ask(r, 'b.home.internal').rcode, 'NOERROR', 'our own zone is answered');
  t.is(r.receive(query('internal.example.com'), HOST, NOW).forwards.length, 1, 'a public name is forwarded');
});

test('who may ask at all (a TCP connection is checked when it opens): this host and members, not strangers', (t) => {
  const r = resolver();
  t.true(r.accepts(A.ipv4));
  t.true(r.accepts('127.0.0.1'));
  t.true(r.accepts(B.ipv4));
  t.false(r.accepts('100.80.99.99'), 'an address of the subnet that no member holds');
  t.false(r.accepts('198.51.100.9'));
});

test("a member asking for another network's names (or their reverse names) is refused, never forwarded to that network's resolver", (t) => {
  // On a host in two networks, the other's resolver is next in resolv.conf: an upstream here.
  const r = resolver({ upstreams: [{ address: '100.90.0.1', port: 53 }, UPSTREAM] });
  for (const [name, type] of [
    ['b.work.internal', 'A'],
    ['b.work.internal', 'AAAA'],
    ['work.internal', 'SOA'],
    ['1.0.90.100.in-addr.arpa', 'PTR'],
  ] as const) {
    const step = r.receive(query(name, type), MEMBER, NOW);
    t.is(step.forwards.length, 0, `${name} ${type} is not forwarded`);
    t.is(only(step).rcode, 'REFUSED', `${name} ${type}`);
    t.deepEqual(only(step).answers ?? [], [], `${name} ${type}: nothing told`);
  }
  t.is(r.counters()['forwarded'] ?? 0, 0);
});
