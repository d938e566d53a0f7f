/**
 * The resolver over TCP (RFC 7766), on loopback with real sockets, no root: framed queries in,
 * framed replies out on the same connection, pipelined ones each answered, a forwarded one's
 * answer back on its connection; bad framing closes the connection.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import test from 'ava';
import * as dnsPacket from 'dns-packet';
import { Resolver } from '../../core/dns/resolver.js';
import { DnsServer } from '../../core/dns/server.js';
import { framed, TcpFrames } from '../../core/dns/tcpFrames.js';
import { NameTable } from '../../core/dns/zone.js';
import { parseIPv4Subnet, parseIPv6Subnet } from '../../core/membership/addressing.js';

const B = { name: 'b', ipv4: '100.80.7.9', ipv6: 'fd11:2233:4455::6450:709' };

function query(name: string, id: number): Uint8Array {
  return new Uint8Array(
    dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name, type: 'A', class: 'IN' }],
    }),
  );
}

test('frames: split across chunks, several in one, and a length no query has', (t) => {
  const f = new TcpFrames();
  const a = framed(query('b.home.internal', 1));
  const b = framed(query('c.home.internal', 2));
  const both = Buffer.concat([a, b]);
  t.deepEqual(f.push(both.subarray(0, 1)), []);
  t.deepEqual(f.push(both.subarray(1, 20)), []);
  const out = f.push(both.subarray(20));
  t.is((out as Uint8Array[]).length, 2);
  t.deepEqual(
    (out as Uint8Array[]).map((m) => dnsPacket.decode(Buffer.from(m)).id),
    [1, 2],
  );
  t.is(new TcpFrames().push(Uint8Array.of(0, 3, 1, 2, 3)), 'bad');
});

/** A server on 127.0.0.1 at a free port, with an upstream UDP resolver the test answers for. */
async function world(t: import('ava').ExecutionContext) {
  const upstream = dgram.createSocket('udp4');
  await new Promise<void>((r) => upstream.bind(0, '127.0.0.1', r));
  upstream.on('message', (msg, rinfo) => {
    const q = dnsPacket.decode(msg);
    const answer = dnsPacket.encode({
      type: 'response',
      id: q.id!,
      flags: dnsPacket.RECURSION_AVAILABLE,
      questions: q.questions!,
      answers: [{ name: q.questions![0]!.name, type: 'A', ttl: 60, data: '192.0.2.80' }],
    });
    upstream.send(answer, rinfo.port, rinfo.address);
  });
  t.teardown(() => upstream.close());
  const resolver = new Resolver({
    names: new NameTable(
      'home.internal',
      parseIPv4Subnet('100.80.0.0/16'),
      parseIPv6Subnet('fd11:2233:4455::/64'),
      [B],
    ),
    // Loopback clients are this host's anyway; an own address would keep the upstream out.
    ownAddresses: ['100.80.0.1'],
    upstreams: [{ address: '127.0.0.1', port: (upstream.address() as { port: number }).port }],
    now: Date.now(),
  });
  for (let tries = 0; ; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 40_000);
    const logs: string[] = [];
    const server = await DnsServer.start({ resolver, ipv4: '127.0.0.1', log: (l) => logs.push(l), port });
    if (logs.some((l) => l.includes('not serving TCP')) && tries < 5) {
      server.stop();
      continue;
    }
    t.teardown(() => server.stop());
    return { server, port };
  }
}

/** Sends `bytes` on a new connection and collects `count` framed replies (or what came before close). */
function exchange(
  port: number,
  bytes: Uint8Array,
  count: number,
): Promise<{ replies: dnsPacket.DecodedPacket[]; closed: boolean }> {
  return new Promise((resolve) => {
    const c = net.connect(port, '127.0.0.1');
    const frames = new TcpFrames();
    const replies: dnsPacket.DecodedPacket[] = [];
    const timer = setTimeout(() => c.destroy(), 5_000);
    c.on('connect', () => c.write(bytes));
    c.on('data', (chunk) => {
      const got = frames.push(chunk);
      if (got !== 'bad') replies.push(...got.map((m) => dnsPacket.decode(Buffer.from(m))));
      if (replies.length >= count) c.end();
    });
    c.on('error', () => {});
    c.on('close', () => {
      clearTimeout(timer);
      resolve({ replies, closed: replies.length < count });
    });
  });
}

test('a member is answered over TCP; pipelined queries each get their reply; a forwarded one comes back on its connection', async (t) => {
  const { port } = await world(t);
  const one = await exchange(port, framed(query('b.home.internal', 7)), 1);
  t.is(one.replies[0]!.id, 7);
  t.deepEqual(
    one.replies[0]!.answers!.map((a) => ('data' in a ? a.data : undefined)),
    [B.ipv4],
  );
  const two = await exchange(
    port,
    Buffer.concat([framed(query('b.home.internal', 8)), framed(query('nobody.home.internal', 9))]),
    2,
  );
  t.deepEqual(
    two.replies.map((r) => [r.id, (r as { rcode?: string }).rcode]),
    [
      [8, 'NOERROR'],
      [9, 'NXDOMAIN'],
    ],
  );
  const forwarded = await exchange(port, framed(query('example.com', 10)), 1);
  t.is(forwarded.replies[0]?.id, 10);
  t.deepEqual(
    forwarded.replies[0]!.answers!.map((a) => ('data' in a ? a.data : undefined)),
    ['192.0.2.80'],
  );
});

test('bad framing closes the connection, counted', async (t) => {
  const { server, port } = await world(t);
  const r = await exchange(port, Uint8Array.of(0, 2, 0, 0), 1);
  t.true(r.closed);
  t.deepEqual(r.replies, []);
  t.is(server.tcpRefused, 1);
});
