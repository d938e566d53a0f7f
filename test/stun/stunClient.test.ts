/**
 * The STUN client under a simulated clock: when it asks, when it gives up, what it believes, and
 * which answers it refuses.
 */
import test from 'ava';
import { type Endpoint, formatEndpoint, parseEndpoint } from '../../core/base/endpoint.js';
import {
  decodeBindingRequest,
  encodeBindingSuccess,
  StunClient,
  type StunEvent,
  type StunOutput,
  type StunSend,
} from '../../core/stun/index.js';

const SERVER = '192.0.2.10:3478';
const at = (text: string): Endpoint => parseEndpoint(text)!;
const OTHER = '198.51.100.20:3478';

/** Transaction ids 1, 2, 3, …: every run is the same, and each id is new. */
function counting(): (size: number) => Uint8Array {
  let next = 0;
  return (size) => {
    next++;
    return Uint8Array.from({ length: size }, (_, i) => (i === size - 1 ? next : 0));
  };
}

function txidOf(send: StunSend): Uint8Array {
  const request = decodeBindingRequest(send.datagram);
  if (!request.ok) throw new Error(request.reason);
  return request.txid;
}

/** What a server would answer to `send`, seeing us at `mapped`. */
const answer = (send: StunSend, mapped: Endpoint) => encodeBindingSuccess(txidOf(send), mapped);

interface Timed extends StunSend {
  at: number;
}

/** Drives the client from `now` to `until`, waking it when it asks; every send and event with its time. */
function run(client: StunClient, first: StunOutput, now: number, until: number) {
  const sends: Timed[] = first.send.map((s) => ({ ...s, at: now }));
  const events: (StunEvent & { at: number })[] = first.events.map((e) => ({ ...e, at: now }));
  let wake = first.nextWakeAt;
  while (wake <= until) {
    const at = wake;
    const out = client.tick(at);
    sends.push(...out.send.map((s) => ({ ...s, at })));
    events.push(...out.events.map((e) => ({ ...e, at })));
    wake = out.nextWakeAt;
  }
  return { sends, events, wake };
}

test('each server is asked at start, again with the same txid after 0.5, 1, 2 and 4 s, and given up at 15.5 s', (t) => {
  const client = new StunClient({ servers: [SERVER, OTHER], random: counting() });
  const { sends, events, wake } = run(client, client.start(1_000), 1_000, 16_500);
  const toServer = sends.filter((s) => formatEndpoint(s.to) === SERVER);
  t.deepEqual(
    toServer.map((s) => s.at - 1_000),
    [0, 500, 1_500, 3_500, 7_500],
  );
  t.true(toServer.every((s) => Buffer.from(txidOf(s)).equals(Buffer.from(txidOf(toServer[0]!)))));
  t.is(sends.filter((s) => formatEndpoint(s.to) === OTHER).length, 5);
  t.deepEqual(events, [
    { type: 'unreachable', server: SERVER, at: 16_500 },
    { type: 'unreachable', server: OTHER, at: 16_500 },
  ]);
  t.is(wake, 16_500 + 25_000, 'a server that never answered is asked again 25 s later');
  t.is(client.current().size, 0);
});

test('unreachable is reported once per failed transaction, and the next one has a new txid', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  const { sends, events } = run(client, client.start(0), 0, 15_500 + 25_000 + 15_500);
  t.deepEqual(
    events.map((e) => [e.type, e.at]),
    [
      ['unreachable', 15_500],
      ['unreachable', 15_500 + 25_000 + 15_500],
    ],
  );
  t.is(sends.length, 10);
  t.notDeepEqual(txidOf(sends[0]!), txidOf(sends[5]!));
});

test('an answer gives the reflexive endpoint, stops the retransmissions, and a refresh follows 25 s later', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  const start = client.start(0);
  const out = client.receive(
    answer(start.send[0]!, { address: '203.0.113.7', port: 40001 }),
    at(SERVER),
    300,
  );
  t.deepEqual(out.events, [{ type: 'reflexive', server: SERVER, endpoint: '203.0.113.7:40001' }]);
  t.deepEqual(out.send, []);
  t.is(out.nextWakeAt, 25_300);
  t.deepEqual([...client.current()], [[SERVER, '203.0.113.7:40001']]);
  t.deepEqual(client.seenBy(parseEndpoint(SERVER)!), parseEndpoint('203.0.113.7:40001'));
  t.is(client.seenBy(parseEndpoint(OTHER)!), undefined, 'a server that has not answered saw nothing');

  const refresh = client.tick(25_300);
  t.is(refresh.send.length, 1);
  t.notDeepEqual(txidOf(refresh.send[0]!), txidOf(start.send[0]!), 'each transaction has its own txid');
  // The same mapping again: nothing to report, the next refresh is scheduled.
  const same = client.receive(
    answer(refresh.send[0]!, { address: '203.0.113.7', port: 40001 }),
    at(SERVER),
    25_400,
  );
  t.deepEqual(same.events, []);
  t.is(same.nextWakeAt, 50_400);
});

test('a changed mapping is reported when a refresh brings it', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  const first = client.start(0).send[0]!;
  client.receive(answer(first, { address: '203.0.113.7', port: 40001 }), at(SERVER), 10);
  const refresh = client.tick(25_010).send[0]!;
  const moved = client.receive(answer(refresh, { address: '203.0.113.7', port: 40999 }), at(SERVER), 25_020);
  t.deepEqual(moved.events, [{ type: 'reflexive', server: SERVER, endpoint: '203.0.113.7:40999' }]);
  t.is(client.current().get(SERVER), '203.0.113.7:40999');
});

test('answers with a wrong txid, from the wrong endpoint, or late are ignored and counted', (t) => {
  const client = new StunClient({ servers: [SERVER, OTHER], random: counting() });
  const start = client.start(0);
  const toServer = start.send.find((s) => formatEndpoint(s.to) === SERVER)!;
  const toOther = start.send.find((s) => formatEndpoint(s.to) === OTHER)!;
  const forged = encodeBindingSuccess(new Uint8Array(12).fill(7), { address: '203.0.113.66', port: 6666 });
  t.deepEqual(client.receive(forged, at(SERVER), 10).events, []);
  // The right txid, from an endpoint that is not the server it was sent to.
  const misrouted = answer(toServer, { address: '203.0.113.66', port: 6666 });
  t.deepEqual(client.receive(misrouted, at('192.0.2.10:3479'), 20).events, []);
  t.deepEqual(client.receive(misrouted, at(OTHER), 30).events, [], "another server's endpoint is no better");
  t.deepEqual(
    client.receive(answer(toOther, { address: '203.0.113.66', port: 6666 }), at(SERVER), 40).events,
    [],
  );
  t.deepEqual(client.receive(Uint8Array.of(1, 2, 3), at(SERVER), 50).events, []);
  t.is(client.current().size, 0);
  t.deepEqual(client.ignored(), { undecodable: 1, unknownSource: 1, wrongTxid: 3 });

  // The real answer still works; a duplicate of it afterwards (a retransmission's answer) is ignored.
  const real = answer(toServer, { address: '203.0.113.7', port: 40001 });
  t.is(client.receive(real, at(SERVER), 60).events.length, 1);
  t.deepEqual(client.receive(real, at(SERVER), 70).events, []);
  t.is(client.ignored().wrongTxid, 4);
  t.is(client.current().get(SERVER), '203.0.113.7:40001');
});

test('an error response is counted and does not end the transaction', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  const send = client.start(0).send[0]!;
  const error = Uint8Array.from(answer(send, { address: '203.0.113.7', port: 1 }));
  error[1] = 0x11; // 0x0111: Binding error response, same txid
  const out = client.receive(error, at(SERVER), 100);
  t.deepEqual(out.events, []);
  t.is(out.nextWakeAt, 500, 'the retransmission is still due');
  t.is(client.ignored().undecodable, 1);
});

test('a server that stops answering is forgotten, and reported again when it comes back', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  client.receive(answer(client.start(0).send[0]!, { address: '203.0.113.7', port: 40001 }), at(SERVER), 10);
  const { events, wake } = run(client, client.tick(10), 10, 25_010 + 15_500);
  t.deepEqual(events, [{ type: 'unreachable', server: SERVER, at: 25_010 + 15_500 }]);
  t.is(client.current().size, 0);
  const retry = client.tick(wake).send[0]!;
  const back = client.receive(answer(retry, { address: '203.0.113.7', port: 40001 }), at(SERVER), wake + 50);
  t.deepEqual(back.events, [{ type: 'reflexive', server: SERVER, endpoint: '203.0.113.7:40001' }]);
});

test('IPv6 servers and mappings are matched and reported in canonical text', (t) => {
  const client = new StunClient({ servers: ['[2001:DB8:0::0001]:3478'], random: counting() });
  const send = client.start(0).send[0]!;
  t.is(formatEndpoint(send.to), '[2001:db8::1]:3478');
  const out = client.receive(
    answer(send, { address: '2001:db8:0:0:0:0:0:77', port: 51820 }),
    at('[2001:db8:0:0::1]:3478'),
    5,
  );
  t.deepEqual(out.events, [
    { type: 'reflexive', server: '[2001:db8::1]:3478', endpoint: '[2001:db8::77]:51820' },
  ]);
});

test('nothing is sent before start, and a bad or excessive server list is a usage error', (t) => {
  const client = new StunClient({ servers: [SERVER], random: counting() });
  t.deepEqual(client.tick(0), { send: [], events: [], nextWakeAt: Number.POSITIVE_INFINITY });
  t.throws(() => new StunClient({ servers: ['stun.example.org:3478'] }), { code: 'EUSAGE' });
  t.throws(() => new StunClient({ servers: ['192.0.2.1'] }), { code: 'EUSAGE' });
  const many = Array.from({ length: 9 }, (_, i) => `192.0.2.${i + 1}:3478`);
  t.throws(() => new StunClient({ servers: many }), { code: 'EUSAGE' });
  const twice = new StunClient({ servers: [SERVER, '192.0.2.10:3478'] });
  t.is(twice.start(0).send.length, 1, 'a server listed twice is asked once');
});
