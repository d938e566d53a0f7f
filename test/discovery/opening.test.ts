/**
 * Issue 13, point 1, under the simulated clock and network: NATs without a firewall (a plain
 * MASQUERADE) keep an unsolicited packet as an unreplied entry and give their host's flow toward
 * its sender another port. Openers (pings with a TTL that dies past our own NAT) and 'opened'
 * through a relay (core/discovery/opening.ts) keep any whole ping from meeting a NAT not expecting it.
 */
import test from 'ava';
import { peerId } from '../../core/base/keys.js';
import {
  Discovery,
  type DiscoveryOutput,
  OPENER_TTL,
  UNANSWERED_PROBE_BURST_PER_SENDER,
  UNANSWERED_PROBES_PER_SECOND_PER_SENDER,
} from '../../core/discovery/index.js';
import { openerTtl } from '../../core/discovery/opening.js';
import { ep, eps, epText } from '../helpers/endpoints.js';
import type { SimNat } from './netSim.js';
import { SimNet } from './netSim.js';
import { SimWorld } from './simWorld.js';

const SEEDS = Array.from({ length: 20 }, (_, i) => i + 1);
/** Members come up this far apart (p, then a, then b): b's start is when the pair can begin. */
const STAGGER_MS = 700;
const B_UP = 2 * STAGGER_MS;

/**
 * P public; A and B behind NATs with (true) or without (false) a firewall. As in a namespace world,
 * datagrams take 0.2–5.2 ms: two members told of each other at once (an introduction) do not send
 * within so little of each other that their first pings pass each other on the way.
 */
function pair(seed: number, firewallA: boolean, firewallB: boolean, pRelays = true) {
  const w = new SimWorld(seed, 1_000, 0, 5, 0.2);
  const natA = w.nat('nat-a', '192.0.2.10', 'endpoint-independent', undefined, { firewall: firewallA });
  const natB = w.nat('nat-b', '198.51.100.20', 'endpoint-independent', undefined, { firewall: firewallB });
  const p = w.member('p', '203.0.113.1', undefined, { relay: pRelays });
  const a = w.member('a', '198.18.1.10', natA);
  const b = w.member('b', '198.18.2.10', natB);
  return { w, p, a, b, natA, natB };
}

test('the simulated NAT without a firewall takes the tuple of an unsolicited packet; one with a firewall does not', (t) => {
  for (const firewall of [true, false]) {
    const net = new SimNet({ random: () => 0.5 });
    const nat: SimNat = net.addNat('n', '192.0.2.1', 'endpoint-independent', 'address-and-port', {
      firewall,
    });
    const toP = nat.outbound('198.18.0.2:51820', '203.0.113.9:51820', 0);
    // Someone sends to that public port before the host has sent to them.
    t.is(nat.inbound(toP, '203.0.113.7:51820', 10), undefined);
    const toStranger = nat.outbound('198.18.0.2:51820', '203.0.113.7:51820', 20);
    if (firewall) t.is(toStranger, toP, 'the firewall left no state: the mapping keeps its port');
    else t.not(toStranger, toP, 'the unreplied entry holds the pair: another port');
    t.is(nat.tuplesTaken, firewall ? 0 : 1);
    // Replies come back on the port the flow got, and only there.
    t.is(nat.inbound(toStranger, '203.0.113.7:51820', 30), '198.18.0.2:51820');
    if (!firewall) t.is(nat.inbound(toP, '203.0.113.7:51820', 40), undefined);
  }
});

test('a TTL of 2 passes our NAT and dies before the next one; the mapping it made lets the answer in', (t) => {
  const net = new SimNet({ random: () => 0.5 });
  const natA = net.addNat('a', '192.0.2.1', 'endpoint-independent', 'address-and-port', { firewall: false });
  const natB = net.addNat('b', '192.0.2.2', 'endpoint-independent', 'address-and-port', { firewall: false });
  const a = net.addHost('a', '198.18.1.2', 51820, natA);
  const b = net.addHost('b', '198.18.2.2', 51820, natB);
  const heard: string[] = [];
  a.receive = (_bytes, from) => heard.push(`a<${from}`);
  b.receive = (_bytes, from) => heard.push(`b<${from}`);
  const aPort = natA.outbound('198.18.1.2:51820', '192.0.2.2:40000', 0);
  net.send(a, '192.0.2.2:40000', Uint8Array.of(1), 2);
  net.runUntil(100);
  t.deepEqual(heard, [], 'the opener died on the way');
  t.is(net.expired, 1);
  t.is(natB.tuplesTaken, 0);
  // b's NAT maps b to 40000 (its first port) and nothing holds the pair: a hears b.
  net.send(b, `192.0.2.1:${aPort}`, Uint8Array.of(2));
  net.runUntil(200);
  t.deepEqual(heard, ['a<192.0.2.2:40000']);
});

for (const [name, fwA, fwB] of [
  ['two NATs without a firewall', false, false],
  ['a firewalled NAT and one without', true, false],
  ['a NAT without a firewall and a firewalled one', false, true],
  ['two firewalled NATs', true, true],
] as const) {
  test(`${name}: direct within 5 s both ways, for each of ${SEEDS.length} seeds`, (t) => {
    const times: number[] = [];
    for (const seed of SEEDS) {
      const { w, a, b, natA, natB } = pair(seed, fwA, fwB);
      w.start(STAGGER_MS);
      w.stream(a, b, 200, B_UP, 12_000);
      w.stream(b, a, 200, B_UP, 12_000);
      w.run(12_000);
      const ab = w.firstPath(a, b, 'direct');
      const ba = w.firstPath(b, a, 'direct');
      t.true(
        ab !== undefined && ba !== undefined && ab.at - B_UP <= 5_000 && ba.at - B_UP <= 5_000,
        `seed ${seed}: a→b ${ab?.at} ms, b→a ${ba?.at} ms; tuples taken ${natA.tuplesTaken}/${natB.tuplesTaken}`,
      );
      // The filter test's probe is meant to meet it (filterTest.ts): its knock's tuple does not count.
      t.is(
        w.tuplesTakenTowardMembers(natA) + w.tuplesTakenTowardMembers(natB),
        0,
        `seed ${seed}: no whole ping met a NAT not expecting it`,
      );
      t.is(a.discovery.path(b.id).path, 'direct');
      t.true(b.data.filter((d) => d.from === 'a' && d.at > 8_000 && d.relayedBy === undefined).length >= 15);
      times.push(Math.max(ab?.at ?? 0, ba?.at ?? 0) - B_UP);
    }
    times.sort((x, y) => x - y);
    t.log(
      `direct both ways, after b came up: median ${Math.round(times[times.length >> 1]!)} ms, worst ${Math.round(times.at(-1)!)} ms`,
    );
  });
}

test('with nobody to carry "opened" (no member relays), pings go whole at once, as before: two firewalled NATs still go direct', (t) => {
  for (const seed of SEEDS.slice(0, 5)) {
    const { w, a, b } = pair(seed, true, true, false);
    w.start(STAGGER_MS);
    w.run(10_000);
    const ab = w.firstPath(a, b, 'direct');
    t.true(ab !== undefined && ab.at - B_UP <= 5_000, `seed ${seed}: a→b ${ab?.at}`);
    t.is(w.net.expired, 0, 'no opener was sent');
  }
});

test('the failure openers prevent: whole pings at once (nobody relays) leave two NATs without a firewall stuck for some seeds', (t) => {
  let stuck = 0;
  for (const seed of SEEDS) {
    const { w, a, b, natA, natB } = pair(seed, false, false, false);
    w.start(STAGGER_MS);
    w.run(20_000);
    if (w.firstPath(a, b, 'direct') === undefined) {
      stuck++;
      t.true(natA.tuplesTaken + natB.tuplesTaken > 0, `seed ${seed}: stuck with no tuple taken`);
    }
  }
  t.log(`${stuck} of ${SEEDS.length} pairs never went direct in 20 s`);
  t.true(stuck > 0);
});

// --- one Discovery, the test playing its peers -----------------------------------------------------

const key = (n: number) => peerId(new Uint8Array(32).fill(n));
const [A, B, P] = [key(1), key(2), key(3)];
const B_PUBLIC = '192.0.2.20:51820';
const P_ADDR = '203.0.113.1:51820';

/** A behind a NAT; B behind one too (it announces a LAN address besides its public one); P relays. */
function alone(pRelays = true) {
  const d = new Discovery({ self: A, now: 0, local: eps(['198.18.1.1:51820']), random: () => 0.5 });
  const out = d.setPeers(
    [
      { id: B, name: 'b', candidates: eps([B_PUBLIC, '198.18.2.1:51820']), relay: true },
      { id: P, name: 'p', candidates: eps([P_ADDR]), relay: pRelays },
    ],
    0,
  );
  return { d, out };
}

const pingsTo = (out: DiscoveryOutput, endpoint: string) =>
  out.send.filter((s) => epText(s.endpoint) === endpoint && s.via === undefined && s.message.kind === 'ping');

test("pings to a NATed peer's public address go out as openers (TTL 2) while a member could carry 'opened'; to a public member whole", (t) => {
  const { out } = alone();
  const toB = pingsTo(out, B_PUBLIC);
  t.true(toB.length > 0);
  t.true(
    toB.every((s) => s.ttl === OPENER_TTL),
    JSON.stringify(toB.map((s) => s.ttl)),
  );
  t.true(
    pingsTo(out, P_ADDR).every((s) => s.ttl === undefined),
    'p announces no private address',
  );
  // Nobody relays: there is nobody to tell, so the pings go whole, as before.
  t.true(pingsTo(alone(false).out, B_PUBLIC).every((s) => s.ttl === undefined));
});

test("the peer's 'opened' makes our pings to it whole at once; so does a ping heard from its address", (t) => {
  const { d } = alone();
  const out = d.receive(B, { kind: 'opened' }, { via: P }, 50);
  const whole = pingsTo(out, B_PUBLIC);
  t.is(whole.length, 1);
  t.is(whole[0]!.ttl, undefined);
  // Heard: a second world, where b's ping arrives from its public address.
  const other = alone().d;
  const heard = other.receive(B, { kind: 'ping', txid: new Uint8Array(12) }, { endpoint: ep(B_PUBLIC) }, 50);
  t.true(pingsTo(heard, B_PUBLIC).every((s) => s.ttl === undefined));
});

test("a member flooding 'opened' gets no more pings to its addresses than the probe budget pays for", (t) => {
  const { d } = alone();
  let pings = 0;
  // 1,000 'opened' a second for 10 s, each one through the relay (sealed: only b can send them).
  for (let i = 0; i < 10_000; i++) {
    const now = 50 + i;
    pings += pingsTo(d.receive(B, { kind: 'opened' }, { via: P }, now), B_PUBLIC).length;
    pings += pingsTo(d.tick(now), B_PUBLIC).length;
  }
  const budget = UNANSWERED_PROBE_BURST_PER_SENDER + 10 * UNANSWERED_PROBES_PER_SECOND_PER_SENDER;
  t.true(pings <= budget, `${pings} pings to b's address in 10 s (budget ${budget})`);
  t.true(d.probeCounters.refusedProbes > 0, 'the rest were refused and counted');
});

test('a member with a public address of its own sends its openers with a TTL of 1: a TTL of 2 would reach the NAT one router away', (t) => {
  const q = new Discovery({ self: A, now: 0, local: eps(['203.0.113.7:51820']), random: () => 0.5 });
  const out = q.setPeers(
    [
      { id: B, name: 'b', candidates: eps([B_PUBLIC, '198.18.2.1:51820']), relay: true },
      { id: P, name: 'p', candidates: eps([P_ADDR]), relay: true },
    ],
    0,
  );
  const toB = pingsTo(out, B_PUBLIC);
  t.true(toB.length > 0);
  t.true(
    toB.every((s) => s.ttl === 1),
    JSON.stringify(toB.map((s) => s.ttl)),
  );
});

test("from a public address an opener of OPENER_TTL reaches the NAT one router away and takes its member's tuple; openerTtl's 1 dies short of it", (t) => {
  for (const ours of [false, true]) {
    const net = new SimNet({ random: () => 0.5 });
    const natA = net.addNat('a', '192.0.2.1', 'endpoint-independent', 'address-and-port', {
      firewall: false,
      keepPort: true,
    });
    const q = net.addHost('q', '203.0.113.7', 51820);
    // q pings a's public address before a has sent to q (a learned of q later, as in a mesh).
    const ttl = openerTtl(ours);
    net.send(q, '192.0.2.1:51820', Uint8Array.of(1), ttl);
    net.runUntil(100);
    const aToQ = natA.outbound('198.18.1.2:51820', '203.0.113.7:51820', 200);
    if (ours) {
      t.is(ttl, 1);
      t.is(net.expired, 1, 'the opener died at the first router');
      t.is(aToQ, 51820, "a's flow toward q keeps the port a announces");
      t.is(natA.tuplesTaken, 0);
    } else {
      t.is(ttl, OPENER_TTL);
      t.not(aToQ, 51820, 'the TTL-2 opener reached the NAT and took the pair');
      t.is(natA.tuplesTaken, 1);
    }
  }
});
