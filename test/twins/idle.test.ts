/**
 * An idle node sleeps (issue 12, point 5), on the simulated clock: whole members that have nothing
 * to say send a few datagrams a minute and read no counters, and a path that died while idle is
 * still left for a relay, at once when traffic starts, and within a keepalive period when none does.
 */
import test, { type ExecutionContext } from 'ava';
import { IDLE_HEARTBEAT_MS } from '../../core/discovery/index.js';
import { direct, NodeWorld, relayed, statusOf, type TwinNode } from './nodeWorld.js';

/** a, b and c, each on a public address of its own, every path direct, then `quietMs` of nothing. */
async function quietThree(t: ExecutionContext, quietMs: number) {
  const w = new NodeWorld(t);
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const b = await w.join('b', w.machine('b', '198.51.100.2'), a);
  const c = await w.join('c', w.machine('c', '198.51.100.3'), a);
  const pairs: [TwinNode, TwinNode][] = [
    [a, b],
    [a, c],
    [b, c],
  ];
  await w.until('every path direct', 15_000, () => pairs.every(([x, y]) => direct(x, y) && direct(y, x)));
  await w.packetArrives(b, c, 5_000);
  await w.sleep(quietMs);
  return { w, a, b, c, pairs };
}

test.serial(
  'idle members send a few datagrams a minute, read no counters, and stay online and direct',
  async (t) => {
    const { w, a, b, c, pairs } = await quietThree(t, 60_000);
    const sent = new Map<unknown, number>();
    const send = w.net.send.bind(w.net);
    w.net.send = (host, dest, bytes) => {
      sent.set(host, (sent.get(host) ?? 0) + 1);
      return send(host, dest, bytes);
    };
    let reads = 0;
    for (const n of [a, b, c]) {
      const dp = n.io.dataPaths.at(-1)!;
      const peerStats = dp.peerStats.bind(dp);
      dp.peerStats = (peer) => {
        reads++;
        return peerStats(peer);
      };
    }
    await w.sleep(60_000);
    const perNode = [...sent.values()];
    t.log(`datagrams sent in the idle minute, per node: ${perNode.join(', ')}`);
    // Two peers each: per IDLE_HEARTBEAT_MS a ping or the pong to the other's (one end pings), and a
    // gossip round about every minute; relay routes and alternatives wait for traffic. Busy, ~200.
    t.is(perNode.length, 3);
    for (const n of perNode) t.true(n <= 15, `${n} datagrams in a minute`);
    t.is(reads, 0, 'no counters read while no packet moves');
    for (const [x, y] of pairs) {
      t.true(direct(x, y) && direct(y, x), `${x.name} and ${y.name} direct`);
      t.true(statusOf(x, y)?.online && statusOf(y, x)?.online, `${x.name} and ${y.name} online`);
    }
    // And traffic wakes them: the first packet arrives, and the counters are read again.
    await w.packetArrives(b, c, 2_000);
    t.true(reads > 0);
  },
);

test.serial(
  'a direct path cut while idle: the first packets after it move to a relay within 3 s',
  async (t) => {
    const { w, a, b, c } = await quietThree(t, 60_000);
    w.net.cut('198.51.100.2', '198.51.100.3');
    // Nothing flows: the cut is not noticed yet (the next keepalive ping is up to 25 s away)...
    await w.sleep(500);
    t.true(direct(b, c));
    // ...until traffic starts: its path is pinged at once, found dead, and left.
    const start = w.clock.elapsed();
    const arrivedMs = await w.packetArrives(b, c, 10_000);
    const relayedMs = await w.until('b to route c through a', 5_000, () => relayed(b, c, a));
    t.log(
      `first packet through ${arrivedMs} ms after traffic started; b relayed at ${w.clock.elapsed() - start} ms`,
    );
    t.true(
      w.clock.elapsed() - start <= 3_000,
      `relayed ${w.clock.elapsed() - start} ms after traffic started`,
    );
    t.true(relayedMs >= 0);
    // c hears b through the relay, wakes, and finds its own direct path dead too.
    await w.packetArrives(c, b, 5_000);
    await w.until('c to route b through a', 5_000, () => relayed(c, b, a));
  },
);

test.serial(
  'a direct path cut while idle and nothing flows: relayed within a keepalive period',
  async (t) => {
    const { w, a, b, c } = await quietThree(t, 60_000);
    w.net.cut('198.51.100.2', '198.51.100.3');
    const ms = await w.until(
      'b and c to route through a',
      IDLE_HEARTBEAT_MS + 10_000,
      () => relayed(b, c, a) && relayed(c, b, a),
    );
    t.log(`relayed ${ms} ms after the cut, with no traffic`);
    t.true(ms <= IDLE_HEARTBEAT_MS + 3_000);
  },
);
