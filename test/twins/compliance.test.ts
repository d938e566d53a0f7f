/**
 * One suite, two data paths: the native engine (as root, on loopback) and its memory twin (on a
 * simulated network). Each test runs against both, so what the node can tell of a data path —
 * its events, counters and errors — cannot drift between them.
 */
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { DataPath, type DataPathEvent, Tun } from 'tun-napi';
import { encodeBindingSuccess } from '../../core/stun/message.js';
import type { DataPathIo } from '../../core/tunnel/io.js';
import { SimNet } from '../discovery/netSim.js';
import { rootTest } from '../helpers/root.js';
import { seededUniform } from '../helpers/seeded.js';
import { MemoryDataPath } from './memoryDataPath.js';
import { MemoryTun } from './memoryTun.js';
import { scenarioClock, until } from './scenarioClock.js';

// The native engine runs on the machine's clock, so both sides of the suite do.
const clock = scenarioClock('real');

interface End {
  readonly dp: DataPathIo;
  readonly endpoint: string;
  readonly events: DataPathEvent[];
}

type Pair = (t: ExecutionContext) => { a: End; b: End };

const native: Pair = (t) => {
  const open = (): End => {
    const tun = new Tun();
    const events: DataPathEvent[] = [];
    const dp = new DataPath(tun, { port: 0 }, (e) => events.push(...e));
    t.teardown(() => {
      dp.close();
      tun.close();
    });
    return { dp, endpoint: `127.0.0.1:${dp.port}`, events };
  };
  return { a: open(), b: open() };
};

const twin: Pair = (t) => {
  const net = new SimNet({ random: seededUniform(3), clock: 'real', internetLatencyMs: 1 });
  t.teardown(() => net.close());
  const open = (name: string, ip: string): End => {
    const events: DataPathEvent[] = [];
    const dp = new MemoryDataPath(new MemoryTun(), { port: 0 }, (e) => events.push(...e), { net, name, ip });
    t.teardown(() => dp.close());
    return { dp, endpoint: `${ip}:${dp.port}`, events };
  };
  return { a: open('a', '192.0.2.1'), b: open('b', '192.0.2.2') };
};

function both(title: string, impl: (t: ExecutionContext, pair: Pair) => Promise<void> | void): void {
  rootTest(test, `native data path: ${title}`, (t) => impl(t, native));
  test(`memory data path: ${title}`, (t) => impl(t, twin));
}

both('bad arguments throw the errors the native side throws, and unknown peers are not there', (t, pair) => {
  const { a } = pair(t);
  a.dp.setPeer(1, ['100.64.0.2/32']);
  t.throws(() => a.dp.setPeerPath(1, { relay: 9 }), { instanceOf: RangeError });
  t.throws(() => a.dp.setPeerPath(1, { direct: 'nowhere' }), { instanceOf: RangeError });
  t.throws(() => a.dp.sendControl(new Uint8Array(0), '192.0.2.9:1'), { instanceOf: RangeError });
  t.throws(() => a.dp.sendControl(Uint8Array.of(0x80), 'nowhere'), { instanceOf: RangeError });
  // An opener's TTL (core/discovery/opening.ts) is 1..255.
  for (const ttl of [0, 256, 1.5])
    t.throws(() => a.dp.sendControl(Uint8Array.of(0x80), '192.0.2.9:1', undefined, ttl), {
      instanceOf: RangeError,
    });
  const tags = { local: new Uint8Array(8).fill(1), remote: new Uint8Array(7) };
  t.throws(() => a.dp.setRelayKey(1, new Uint8Array(32), tags, new Uint8Array(16)), {
    instanceOf: TypeError,
  });
  t.throws(() => a.dp.setRelayService(true, 0), { instanceOf: RangeError });
  t.is(a.dp.peerStats(2), null);
  t.false(a.dp.sendControlToPeer(Uint8Array.of(0x80), 2));
  t.false(a.dp.sendControlVia(Uint8Array.of(0x80), 1, 1));
  t.false(a.dp.sendKeepalive(1), 'no session: no keepalive');
  t.is(a.dp.relayEpoch.length, 16);
  a.dp.close();
  t.throws(() => a.dp.stats(), { code: 'ECLOSED' });
});

both('a join query goes up as a control event from its source; junk is only counted', async (t, pair) => {
  const { a, b } = pair(t);
  // With a TTL of its own, enough for the way (loopback; the twin's one router).
  a.dp.sendControl(Uint8Array.of(0x81, 1, 2, 3), b.endpoint, undefined, 3);
  a.dp.sendControl(Uint8Array.of(0x99, 1, 2, 3), b.endpoint);
  await until(
    clock,
    'the join query to go up',
    5_000,
    () => b.events.length > 0 && b.dp.stats().rxJunk === 1,
  );
  const e = b.events[0]!;
  t.is(e.type, 'control');
  if (e.type !== 'control') return;
  t.deepEqual([...e.data], [0x81, 1, 2, 3]);
  t.is(e.from, a.endpoint);
  t.is(e.via, undefined);
  t.like(b.dp.stats(), { rxDatagrams: 2, rxControl: 1, rxJunk: 1 });
});

both('a STUN answer goes up as its own stun event, never as a control datagram', async (t, pair) => {
  const { a, b } = pair(t);
  // An answer and a request to b from a; its 0x01 first byte would read as an initiation's type.
  const txid = new Uint8Array(randomBytes(12));
  const answer = encodeBindingSuccess(txid, { address: '192.0.2.7', port: 4242 });
  a.dp.sendControl(answer, b.endpoint);
  await until(clock, 'the STUN answer to go up', 5_000, () => b.events.length > 0);
  t.deepEqual(
    b.events.map((e) => ({ ...e, data: [...('data' in e ? e.data : [])] })),
    [{ type: 'stun', data: [...answer], from: a.endpoint }],
  );
  t.like(b.dp.stats(), { rxDatagrams: 1, rxControl: 1, rxJunk: 0 });
});

both(
  'a responder session is confirmed by its first packet, a keepalive, and the sender roams to its source',
  async (t, pair) => {
    const { a, b } = pair(t);
    const k1 = new Uint8Array(randomBytes(32));
    const k2 = new Uint8Array(randomBytes(32));
    a.dp.setPeer(1, ['100.64.0.2/32'], b.endpoint);
    b.dp.setPeer(7, ['100.64.0.1/32']);
    a.dp.installSession(1, { localIndex: 11, remoteIndex: 22, sendKey: k1, receiveKey: k2, initiator: true });
    b.dp.installSession(7, {
      localIndex: 22,
      remoteIndex: 11,
      sendKey: k2,
      receiveKey: k1,
      initiator: false,
    });
    t.like(b.dp.peerStats(7), { nextIndex: 22, currentIndex: null, endpoint: null });
    t.true(a.dp.sendKeepalive(1));
    await until(clock, 'the session to be confirmed', 5_000, () => b.events.length >= 2);
    t.deepEqual(
      [...b.events].sort((x, y) => x.type.localeCompare(y.type)),
      [
        { type: 'endpoint-changed', peer: 7, endpoint: a.endpoint },
        { type: 'session-confirmed', peer: 7, localIndex: 22 },
      ],
    );
    t.like(b.dp.peerStats(7), { currentIndex: 22, nextIndex: null, endpoint: a.endpoint, rxPackets: 1 });
    t.like(b.dp.stats(), { rxTransport: 1, rxKeepalive: 1 });
    t.like(a.dp.peerStats(1), { txPackets: 1 });
  },
);

both(
  'a transport message under the wrong key is refused and counted, and nothing goes up',
  async (t, pair) => {
    const { a, b } = pair(t);
    a.dp.setPeer(1, ['100.64.0.2/32'], b.endpoint);
    b.dp.setPeer(7, ['100.64.0.1/32']);
    const key = () => new Uint8Array(randomBytes(32));
    a.dp.installSession(1, {
      localIndex: 11,
      remoteIndex: 22,
      sendKey: key(),
      receiveKey: key(),
      initiator: true,
    });
    b.dp.installSession(7, {
      localIndex: 22,
      remoteIndex: 11,
      sendKey: key(),
      receiveKey: key(),
      initiator: false,
    });
    t.true(a.dp.sendKeepalive(1));
    await until(clock, 'the message to be refused', 5_000, () => b.dp.stats().rxAuthFailed === 1);
    await new Promise((r) => setTimeout(r, 50));
    t.deepEqual(b.events, []);
    t.like(b.dp.peerStats(7), { rxPackets: 0, nextIndex: 22 });
  },
);
