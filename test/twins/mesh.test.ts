/**
 * Whole meshes of nodes without root (issue 11, point 2), on the simulated clock: five members
 * behind NATs of every kind, members and relays that restart from their state, a member up with
 * --no-relay, and one that learns its public address from a STUN server. Ported from
 * test/network.test.ts, test/nat.test.ts and test/relayRestart.test.ts; their namespace versions
 * stay for what needs a kernel (real TUN devices and NAT, kill -9 of a real process, the CLI).
 */
import test, { type ExecutionContext } from 'ava';
import { nodeStatus } from '../../core/node/status.js';
import { direct, NodeWorld, relayed, statusOf, type TwinNode } from './nodeWorld.js';

test.serial(
  'five members behind mixed NATs: every pair reaches every other; the two behind endpoint-dependent NATs relay, the rest go direct',
  async (t) => {
    const w = new NodeWorld(t);
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    // Home routers: one public port per socket, and in from any port of an address it sent to
    // (with port-restricted filtering, no member behind one meets one behind a carrier's NAT).
    const home = (i: number) => w.nat(`home${i}`, `198.51.100.${i}`, 'endpoint-independent', 'address');
    // Carrier-grade: a new port per destination.
    const carrier = (i: number) => w.nat(`cgn${i}`, `192.0.2.${i}`, 'endpoint-dependent');
    const b = await w.join('b', w.machine('b', '198.18.0.2', home(2)), a);
    const c = await w.join('c', w.machine('c', '198.18.1.2', home(3)), a);
    const d = await w.join('d', w.machine('d', '198.18.2.2', carrier(4)), a);
    const e = await w.join('e', w.machine('e', '198.18.3.2', carrier(5)), a);
    const all = [a, b, c, d, e];
    const pairs = all.flatMap((x, i) => all.slice(i + 1).map((y) => [x, y] as const));
    const relayedPair = (x: TwinNode, y: TwinNode) => (x === d && y === e) || (x === e && y === d);
    const expected = (x: TwinNode, y: TwinNode) => (relayedPair(x, y) ? 'relay' : 'direct');
    const seen = () =>
      pairs.map(([x, y]) => `${x.name}-${y.name} ${statusOf(x, y)?.path}/${statusOf(y, x)?.path}`);
    const asExpected = () =>
      pairs.every(
        ([x, y]) => statusOf(x, y)?.path === expected(x, y) && statusOf(y, x)?.path === expected(x, y),
      );
    await w.until('every pair on its path', 30_000, asExpected).catch((e) => {
      throw new Error(`${e.message}: ${seen().join(', ')}`);
    });
    for (const [x, y] of pairs) {
      await w.packetArrives(x, y, 10_000);
      await w.packetArrives(y, x, 10_000);
    }
    t.log(seen().join(', '));
    t.true(asExpected(), 'the paths held while every pair talked');
  },
);

/**
 * After a restart, within what WireGuard promises: a peer that keeps sending on the session the
 * restarted member forgot hears nothing back, and handshakes anew after Keepalive-Timeout +
 * Rekey-Timeout (15 s, plus jitter; whitepaper §6.5). Usually it is back in 550 ms; 1 run in
 * about 20 took over 8 s. When the restarted member sends first, see the next test.
 */
const AFTER_RESTART_MS = 16_000;

/** a, b and c on public addresses of their own, b and c joined through a, b's packets reaching c. */
async function threePublic(t: ExecutionContext) {
  const w = new NodeWorld(t);
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const b = await w.join('b', w.machine('b', '198.51.100.2'), a);
  const c = await w.join('c', w.machine('c', '198.51.100.3'), a);
  await w.packetArrives(b, c, 10_000);
  return { w, a, b, c };
}

test.serial(
  'restart: a member stopped and started from its state rejoins the mesh, no new invite',
  async (t) => {
    const { w, a, b, c } = await threePublic(t);
    const addresses = statusOf(a, b)?.addresses;
    w.restart(b);
    // The mesh is back within 5 s, as with `overlay down` then `overlay up`.
    const back = await w.packetArrives(c, b, AFTER_RESTART_MS);
    await w.packetArrives(b, c, AFTER_RESTART_MS);
    await w.packetArrives(b, a, AFTER_RESTART_MS);
    t.log(`c reached b ${back} ms after its restart`);
    t.deepEqual(statusOf(a, b)?.addresses, addresses);
    t.true(direct(c, b));
  },
);

test.serial(
  'restart: when the restarted member sends first, its handshake crosses its peer’s and packets pass within a second',
  async (t) => {
    const { w, b, c } = await threePublic(t);
    await w.packetArrives(c, b, 10_000);
    w.restart(b);
    // c resends its handshake when it finds b's path again while b initiates for its packet: both
    // complete, and neither drops the session the other sends on (core/wireguard/peer.ts). Before,
    // b's packets found no session at c until a timer's third handshake, 15.5 s later.
    const ms = await w.packetArrives(b, c, 1_000);
    t.log(`b reached c ${ms} ms after its restart`);
    t.true(ms < 1_000);
    t.true((await w.packetArrives(c, b, 1_000)) < 1_000);
  },
);

type Relayed = { a: TwinNode; b: TwinNode; c: TwinNode };

/** a public; b and c behind endpoint-dependent NATs, relayed through a. */
async function relayedPair(w: NodeWorld): Promise<Relayed> {
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const cgn = (i: number) => w.nat(`cgn${i}`, `192.0.2.${i}`, 'endpoint-dependent');
  const b = await w.join('b', w.machine('b', '198.18.0.2', cgn(2)), a);
  const c = await w.join('c', w.machine('c', '198.18.1.2', cgn(3)), a);
  await w.until('b and c to relay through a', 20_000, () => relayed(b, c, a) && relayed(c, b, a));
  await w.packetArrives(b, c, 5_000);
  return { a, b, c };
}

/** Restarts `n`, then b and c reach each other both ways through a, within AFTER_RESTART_MS. */
async function restartAndRelay(t: ExecutionContext, w: NodeWorld, n: TwinNode, pair: Relayed): Promise<void> {
  const { a, b, c } = pair;
  w.restart(n);
  t.log(`${n.name} restarted: b reached c after ${await w.packetArrives(b, c, AFTER_RESTART_MS)} ms`);
  await w.packetArrives(c, b, AFTER_RESTART_MS);
  // Traffic is back; the paths' evidence may lag it by a probe round (a relay's restart can leave
  // its routes silent long enough to be called dead), but they must settle on a, not elsewhere.
  await w.until(
    'b and c to show their path through a again',
    3_000,
    () => relayed(b, c, a) && relayed(c, b, a),
  );
  t.true(relayed(b, c, a) && relayed(c, b, a), 'still through a');
}

test.serial('relayed traffic resumes after either end restarts', async (t) => {
  const w = new NodeWorld(t);
  const pair = await relayedPair(w);
  await restartAndRelay(t, w, pair.b, pair);
  await restartAndRelay(t, w, pair.c, pair);
});

test.serial('relayed traffic resumes after the relay restarts', async (t) => {
  const w = new NodeWorld(t);
  const pair = await relayedPair(w);
  await restartAndRelay(t, w, pair.a, pair);
});

test.serial('a member up with --no-relay is never chosen as a relay; another public member is', async (t) => {
  const w = new NodeWorld(t);
  // The founder would be the first choice (lowest RTT: 1 ms away), but it carries nothing.
  const a = w.found('a', w.machine('a', '203.0.113.1'), { relay: false });
  const r = await w.join('r', w.machine('r', '203.0.113.2'), a);
  const cgn = (i: number) => w.nat(`cgn${i}`, `192.0.2.${i}`, 'endpoint-dependent');
  const b = await w.join('b', w.machine('b', '198.18.0.2', cgn(2)), a);
  const c = await w.join('c', w.machine('c', '198.18.1.2', cgn(3)), a);
  await w.until('b and c to relay through r', 20_000, () => relayed(b, c, r) && relayed(c, b, r));
  await w.packetArrives(b, c, 5_000);
  await w.sleep(10_000);
  t.true(relayed(b, c, r) && relayed(c, b, r), 'still through r');
  t.is(a.io.dataPaths.at(-1)!.stats().relayForwarded, 0, 'a carried nothing');
});

test.serial(
  'up --stun: a member behind a NAT with no peers learns its public address from a STUN server and announces it',
  async (t) => {
    const w = new NodeWorld(t);
    const server = w.stunServer('203.0.113.100:3478');
    const nat = w.nat('nb', '198.51.100.2', 'endpoint-independent');
    const b = w.found('b', w.machine('b', '198.18.0.2', nat), { stun: ['203.0.113.100:3478'] });
    const endpoints = () => nodeStatus(b.node).self.endpoints;
    await w.until('b to announce a public endpoint', 10_000, () =>
      endpoints().some((e) => e.startsWith('198.51.100.2:')),
    );
    t.true(server.answered > 0);
    t.true(endpoints().includes('198.18.0.2:51820'), 'and still its LAN address');
  },
);
