/**
 * Paths between whole nodes when the underlay changes under them (issue 11, point 2), on the
 * simulated clock: a direct path cut and healed, a NAT that rebinds, a machine that moves, a lossy
 * internet, two members behind one NAT. Ported from test/nat.test.ts, whose namespace versions
 * stay for the real kernel's NAT; here each runs its minutes of network time in well under a
 * second of CPU. What is asserted is what `overlay status` shows and whether packets arrive.
 */
import test from 'ava';
import { direct, NodeWorld, relayed, statusOf } from './nodeWorld.js';

/** a, b and c, each on a public address of its own; b and c joined through a. */
async function threePublic(w: NodeWorld) {
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const b = await w.join('b', w.machine('b', '198.51.100.2'), a);
  const c = await w.join('c', w.machine('c', '198.51.100.3'), a);
  await w.until('b and c to go direct', 15_000, () => direct(b, c) && direct(c, b));
  return { a, b, c };
}

test.serial(
  'the direct path between two members is cut: traffic moves to a relay within 3 s, and back when it returns',
  async (t) => {
    const w = new NodeWorld(t);
    const { a, b, c } = await threePublic(w);
    await w.packetArrives(b, c, 5_000);
    w.net.cut('198.51.100.2', '198.51.100.3');
    const movedMs = await w.until(
      'b and c to route through a',
      10_000,
      () => relayed(b, c, a) && relayed(c, b, a),
    );
    t.true(movedMs <= 3_000, `relayed after ${movedMs} ms`);
    await w.packetArrives(b, c, 2_000);
    await w.packetArrives(c, b, 2_000);
    w.net.restore('198.51.100.2', '198.51.100.3');
    const backMs = await w.until('b and c to go direct again', 60_000, () => direct(b, c) && direct(c, b));
    t.log(`relayed ${movedMs} ms after the cut, direct again ${backMs} ms after it healed`);
    t.is(statusOf(b, c)?.endpoint, '198.51.100.3:51820');
    await w.packetArrives(b, c, 2_000);
  },
);

test.serial(
  "a member's NAT forgets its mapping: the other follows the new port, no new invite",
  async (t) => {
    const w = new NodeWorld(t);
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const nat = w.nat('nb', '198.51.100.2', 'endpoint-independent');
    const b = await w.join('b', w.machine('b', '198.18.0.2', nat), a);
    await w.until('a to reach b directly', 15_000, () => direct(a, b) && direct(b, a));
    await w.packetArrives(a, b, 5_000);
    const before = statusOf(a, b)?.endpoint;
    t.regex(before ?? '', /^198\.51\.100\.2:/);
    nat.forgetMappings();
    // b speaks first from its new port (keepalives, pings); a answers where b now is.
    await w.until("a to follow b's new port", 30_000, () => {
      const now = statusOf(a, b)?.endpoint;
      return now !== before && now?.startsWith('198.51.100.2:') === true;
    });
    await w.packetArrives(a, b, 5_000);
    await w.packetArrives(b, a, 5_000);
  },
);

test.serial(
  "a member's underlay address changes mid-stream: the others follow it, no new invite",
  async (t) => {
    const w = new NodeWorld(t);
    const { a, b, c } = await threePublic(w);
    await w.packetArrives(c, b, 5_000);
    w.move(b, '198.51.100.20');
    await w.until("a and c to follow b's new address", 30_000, () =>
      [a, c].every((n) => statusOf(n, b)?.endpoint === '198.51.100.20:51820' && direct(n, b)),
    );
    await w.packetArrives(c, b, 3_000);
    await w.packetArrives(b, c, 3_000);
    // A stream across the move: what is lost is lost in the first seconds, then all arrives.
    t.is(await w.stream(c, b, 20, 100), 20);
  },
);

test.serial('with 20% loss everywhere, two members behind NATs still join, go direct and ping', async (t) => {
  const w = new NodeWorld(t, { loss: 0.2, seed: 7 });
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const mapping = 'endpoint-independent';
  const b = await w.join('b', w.machine('b', '198.18.0.2', w.nat('nb', '198.51.100.2', mapping)), a);
  const c = await w.join('c', w.machine('c', '198.18.1.2', w.nat('nc', '198.51.100.3', mapping)), a);
  await w.until('b and c to go direct', 30_000, () => direct(b, c) && direct(c, b));
  // The first packet waits for a handshake, which may itself be lost and sent again.
  await w.packetArrives(b, c, 20_000);
  const arrived = await w.stream(b, c, 50, 100);
  t.log(`${arrived} of 50 packets arrived`);
  // Each packet crosses one lossy hop: about 40 of 50, never all, never few.
  t.true(arrived >= 30 && arrived < 50, `${arrived} of 50`);
  // Whether the path stays direct through every second of such loss is the next test's question,
  // at a loss real links have: here, four pings in a row lost now and then is only chance.
});

test.serial(
  'with 5% loss everywhere, a direct path stays direct: lost pings do not bounce it to a relay',
  async (t) => {
    const w = new NodeWorld(t, { loss: 0.05, seed: 11 });
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const mapping = 'endpoint-independent';
    const b = await w.join('b', w.machine('b', '198.18.0.2', w.nat('nb', '198.51.100.2', mapping)), a);
    const c = await w.join('c', w.machine('c', '198.18.1.2', w.nat('nc', '198.51.100.3', mapping)), a);
    await w.until('b and c to go direct', 30_000, () => direct(b, c) && direct(c, b));
    // A minute of watching, twice a second, both ways.
    const seen = new Set<string>();
    for (let i = 0; i < 120; i++) {
      seen.add(`b->c ${direct(b, c) ? 'direct' : 'not direct'}`);
      seen.add(`c->b ${direct(c, b) ? 'direct' : 'not direct'}`);
      await w.sleep(500);
    }
    t.deepEqual([...seen].sort(), ['b->c direct', 'c->b direct']);
  },
);

test.serial('two members behind the same NAT talk over their LAN addresses', async (t) => {
  const w = new NodeWorld(t);
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const nat = w.nat('home', '198.51.100.2', 'endpoint-dependent');
  const b = await w.join('b', w.machine('b', '198.18.0.2', nat), a);
  const c = await w.join('c', w.machine('c', '198.18.0.3', nat), a);
  await w.until('b and c to go direct', 15_000, () => direct(b, c) && direct(c, b));
  t.is(statusOf(b, c)?.endpoint, '198.18.0.3:51820');
  t.is(statusOf(c, b)?.endpoint, '198.18.0.2:51820');
  await w.packetArrives(b, c, 3_000);
});
