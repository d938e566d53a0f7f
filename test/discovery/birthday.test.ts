/**
 * Birthday probing (issue 13, point 3) under a simulated clock: a hard side (per-destination NAT)
 * and an easy side (port-keeping NAT) that reach each other only through a relay. The hard side's
 * holes get random ports of its public IP, as MASQUERADE --random-fully gives them; the easy side's
 * probes find one or not. What must hold: the steps come in order, probes keep to the rate, the
 * budget and the introduced IP (one the peer's own signed record lists too), a failure backs off
 * 60 s, two hard sides send no probe at all, and a member cannot make us probe anywhere else or
 * open holes without an attempt of ours (test/discovery/birthdayTrust.test.ts: a lying introducer).
 */

import test from 'ava';
import type { Endpoint } from '../../core/base/endpoint.js';
import type { PeerId } from '../../core/base/keys.js';
import {
  BIRTHDAY_AFTER_MS,
  BIRTHDAY_BACKOFF_MS,
  BIRTHDAY_HOLES,
  BIRTHDAY_PROBES,
  BIRTHDAY_PROBES_PER_SECOND,
  Birthday,
  type BirthdaySend,
} from '../../core/discovery/birthday.js';
import { OPENER_TTL } from '../../core/discovery/constants.js';
import type { BirthdayStep } from '../../core/discovery/messages.js';
import type { NatBehaviour } from '../../core/discovery/natBehaviour.js';
import { ep, epText } from '../helpers/endpoints.js';
import { namedPeer } from '../helpers/peerIds.js';
import { seededUniform } from '../helpers/seeded.js';

const H = namedPeer('hard');
const E = namedPeer('easy');
const EASY_PUBLIC = ep('203.0.113.1:51820');
const HARD_IP = '203.0.113.2';
const STEP_MS = 10;
/** What each peer lists in its own signed endpoint record: the only IPs birthday probing aims at. */
const RECORDS: Record<string, readonly Endpoint[]> = {
  [H]: [ep(`${HARD_IP}:40001`), ep('198.18.2.10:51820')],
  [E]: [EASY_PUBLIC],
  [namedPeer('h1')]: [ep('203.0.113.2:40000')],
  [namedPeer('h2')]: [ep('192.0.2.9:40000')],
};
const signed = (peer: PeerId) => RECORDS[peer];

interface Side {
  readonly id: PeerId;
  readonly b: Birthday;
  nat: NatBehaviour;
}

/** Two nodes, a relay between them (steps arrive at the next step of the clock), the hard side's NAT. */
class Pair {
  now = 0;
  direct = false;
  /** When the easy side's probe reached a hole: the ordinary path machinery goes direct 100 ms later. */
  hitAt: number | undefined;
  readonly hard: Side;
  readonly easy: Side;
  /** The hard NAT's public port for each hole, random as --random-fully picks them. */
  readonly holePorts = new Map<number, number>();
  readonly probes: { at: number; endpoint: Endpoint }[] = [];
  readonly steps: { at: number; from: PeerId; step: BirthdayStep }[] = [];
  holePings = 0;
  /** Each hole ping's IP TTL (undefined: a whole one). */
  readonly holeTtls = new Set<number | undefined>();
  closed: { peer: PeerId; keep?: number }[] = [];
  private readonly nat: () => number;
  private inFlight: { to: Side; from: PeerId; step: BirthdayStep }[] = [];

  constructor(
    seed: number,
    natHard: NatBehaviour = 'endpoint-dependent',
    natEasy: NatBehaviour = 'endpoint-independent',
    records: (peer: PeerId) => readonly Endpoint[] | undefined = signed,
  ) {
    this.hard = { id: H, b: new Birthday(seededUniform(seed), records), nat: natHard };
    this.easy = { id: E, b: new Birthday(seededUniform(seed + 1_000_000), records), nat: natEasy };
    this.nat = seededUniform(seed + 2_000_000);
    // An introducer each asked saw the other at its public address.
    this.hard.b.seen(E, EASY_PUBLIC, 0);
    this.easy.b.seen(H, ep(`${HARD_IP}:40001`), 0);
  }

  run(untilMs: number): void {
    for (; this.now <= untilMs; this.now += STEP_MS) {
      const arriving = this.inFlight;
      this.inFlight = [];
      for (const m of arriving)
        this.carry(m.to, m.to.b.receive(m.from, m.step, m.to.nat, this.direct, this.now));
      if (this.hitAt !== undefined && this.now - this.hitAt >= 100) this.direct = true;
      for (const side of [this.hard, this.easy]) {
        const other = side === this.hard ? E : H;
        const out = side.b.tick(this.now, side.nat, new Set(this.direct ? [] : [other]));
        this.carry(side, out);
        this.closed.push(...out.close);
      }
    }
  }

  private carry(side: Side, out: { send: BirthdaySend[] }): void {
    const to = side === this.hard ? this.easy : this.hard;
    for (const s of out.send) {
      if (!('endpoint' in s)) {
        if (s.message.kind !== 'birthday') throw new Error(`through the relay: ${s.message.kind}`);
        this.steps.push({ at: this.now, from: side.id, step: s.message.step });
        this.inFlight.push({ to, from: side.id, step: s.message.step });
      } else if (s.hole !== undefined) {
        this.holePings++;
        this.holeTtls.add(s.ttl);
        if (!this.holePorts.has(s.hole)) this.holePorts.set(s.hole, this.freePort());
      } else {
        this.probes.push({ at: this.now, endpoint: s.endpoint });
        const port = s.endpoint.port;
        const hole = [...this.holePorts].find(([, p]) => p === port)?.[0];
        if (hole !== undefined && this.hitAt === undefined) {
          this.hard.b.heardOnHole(E, EASY_PUBLIC, hole);
          this.hitAt = this.now;
        }
      }
    }
  }

  private freePort(): number {
    const taken = new Set(this.holePorts.values());
    for (;;) {
      const p = 1024 + Math.floor(this.nat() * 64512);
      if (!taken.has(p)) return p;
    }
  }
}

test('holes open with openers toward an easy side behind a NAT, whole toward one on a public address', (t) => {
  // Behind a NAT (its record lists a private address too): a whole hole ping reaching a NAT with no
  // firewall would hold the very pair a probe that finds the hole needs (opening.ts), so each dies
  // past our own NAT, its mapping made.
  const natted = (peer: PeerId) => (peer === E ? [EASY_PUBLIC, ep('198.18.1.10:51820')] : signed(peer));
  const behind = new Pair(1, 'endpoint-dependent', 'endpoint-independent', natted);
  behind.run(40_000);
  t.deepEqual([...behind.holeTtls], [OPENER_TTL]);
  t.is(behind.holePings, BIRTHDAY_HOLES);
  t.true(behind.direct, 'the probes find a hole all the same');
  const open = new Pair(1);
  open.run(40_000);
  t.deepEqual([...open.holeTtls], [undefined]);
});

test('a hard and an easy side: steps in order, holes before probes, then direct on the winning hole', (t) => {
  const p = new Pair(1);
  p.run(40_000);
  t.deepEqual(
    p.steps.slice(0, 3).map((s) => `${s.from === H ? 'hard' : 'easy'}:${s.step}`),
    ['hard:hard', 'easy:ready', 'hard:open'],
  );
  t.true(p.steps[0]!.at >= BIRTHDAY_AFTER_MS, 'the introduction had its burst first');
  t.is(p.holePings, BIRTHDAY_HOLES);
  t.is(p.holePorts.size, BIRTHDAY_HOLES);
  t.true(p.probes.length > 0 && p.probes[0]!.at >= p.steps[2]!.at, 'probes only once the holes are open');
  t.true(p.direct, `direct after ${p.probes.length} probes`);
  const won = p.hard.b.holeFor(E, EASY_PUBLIC);
  t.not(won, undefined);
  t.is(p.hard.b.holeFor(E, ep('203.0.113.1:51821')), undefined, 'only toward the endpoint that answered');
  t.deepEqual(p.closed, [{ peer: E, keep: won }], 'every other hole closes');
  t.is(p.hard.b.stats.birthdayDirect, 1);
  t.is(p.easy.b.stats.birthdayDirect, 1);
});

test('the easy side probes only the introduced IP, each port once, at about 100/s', (t) => {
  // No hole will ever be hit: the probes run to their budget.
  const p = new Pair(2);
  p.holePorts.set(0, 0);
  for (let h = 1; h <= BIRTHDAY_HOLES; h++) p.holePorts.set(h, 0);
  p.run(40_000);
  t.false(p.direct);
  t.is(p.probes.length, BIRTHDAY_PROBES, 'the whole budget, no more');
  t.true(p.probes.every((x) => x.endpoint.address === HARD_IP));
  const ports = p.probes.map((x) => x.endpoint.port);
  t.is(new Set(ports).size, ports.length, 'no port twice');
  t.true(ports.every((x) => x >= 1024 && x <= 65535));
  // In any one second, about the rate: one tick's batch of slack.
  let worst = 0;
  for (const x of p.probes) {
    const inSecond = p.probes.filter((y) => y.at >= x.at && y.at < x.at + 1000).length;
    worst = Math.max(worst, inSecond);
  }
  t.true(worst <= BIRTHDAY_PROBES_PER_SECOND + 10, `${worst} probes in one second`);
  const spanS = (p.probes.at(-1)!.at - p.probes[0]!.at) / 1000;
  t.true(spanS >= (BIRTHDAY_PROBES / BIRTHDAY_PROBES_PER_SECOND) * 0.95, `${spanS} s`);
  t.is(p.easy.b.stats.birthdayFailed, 1);
  t.true(
    p.closed.some((c) => c.peer === E && c.keep === undefined),
    'the hard side closes every hole',
  );
});

test('after a failure neither side tries the pair again for 60 s', (t) => {
  const p = new Pair(3);
  for (let h = 0; h <= BIRTHDAY_HOLES; h++) p.holePorts.set(h, 0);
  p.run(40_000);
  const firstAttemptSteps = p.steps.length;
  const failedAt = p.probes.at(-1)!.at;
  p.run(failedAt + BIRTHDAY_BACKOFF_MS - 1_000);
  t.is(p.steps.length, firstAttemptSteps, 'nothing within the back-off');
  t.is(p.probes.length, BIRTHDAY_PROBES);
  // The easy side refuses a 'hard' step from the peer in back-off, whoever starts it.
  const refused = p.easy.b.stats.birthdayRefused;
  t.deepEqual(p.easy.b.receive(H, 'hard', 'endpoint-independent', false, p.now).send, []);
  t.is(p.easy.b.stats.birthdayRefused, refused + 1);
  p.run(failedAt + BIRTHDAY_BACKOFF_MS + 10_000);
  t.true(p.steps.length > firstAttemptSteps, 'tried again after it');
});

test('two hard sides stay relayed: no hole, no probe, one step a minute each', (t) => {
  const p = new Pair(4, 'endpoint-dependent', 'endpoint-dependent');
  const minutes = 10;
  p.run(minutes * 60_000);
  t.false(p.direct);
  t.is(p.probes.length, 0);
  t.is(p.holePings, 0);
  t.true(p.steps.every((s) => s.step === 'hard'));
  for (const id of [H, E]) {
    const n = p.steps.filter((s) => s.from === id).length;
    t.true(n >= 1 && n <= minutes + 1, `${id}: ${n} steps in ${minutes} min`);
  }
});

test('an unknown or easy NAT starts nothing; a peer nobody introduced is not probed', (t) => {
  const unknown = new Pair(5, 'unknown', 'endpoint-independent');
  unknown.run(30_000);
  t.is(unknown.steps.length, 0);
  const b = new Birthday(seededUniform(6), signed);
  // Only a LAN address known, or none: nothing to probe toward.
  b.seen(H, ep('198.18.1.10:51820'), 0);
  t.deepEqual(b.receive(H, 'hard', 'endpoint-independent', false, 10_000).send, []);
  t.deepEqual(b.receive(namedPeer('stranger'), 'hard', 'endpoint-independent', false, 10_000).send, []);
  t.is(b.stats.birthdayRefused, 2);
});

test("an IP an introducer names but the peer's signed record does not list is refused, and counted", (t) => {
  const b = new Birthday(seededUniform(9), signed);
  // The introducer says H is at a third party's address; H's own record says 203.0.113.2.
  b.seen(H, ep('192.0.2.50:40001'), 0);
  t.deepEqual(b.receive(H, 'hard', 'endpoint-independent', false, 10_000).send, []);
  t.deepEqual(b.receive(H, 'open', 'endpoint-independent', false, 10_100).send, []);
  let sent = 0;
  for (let now = 10_000; now < 40_000; now += 50)
    sent += b.tick(now, 'endpoint-independent', new Set([H])).send.length;
  t.is(sent, 0);
  t.like(b.stats, { birthdayAttempts: 0, birthdayProbes: 0, birthdayRefused: 2 });
  // Told the truth later, the same node takes the offer.
  b.seen(H, ep(`${HARD_IP}:40001`), 40_000);
  t.is(b.receive(H, 'hard', 'endpoint-independent', false, 40_000).send.length, 1);
});

test('one attempt at a time: a second hard peer cannot make us probe a second IP meanwhile', (t) => {
  const b = new Birthday(seededUniform(7), signed);
  b.seen(namedPeer('h1'), ep('203.0.113.2:40000'), 0);
  b.seen(namedPeer('h2'), ep('192.0.2.9:40000'), 0);
  t.is(b.receive(namedPeer('h1'), 'hard', 'endpoint-independent', false, 1_000).send.length, 1);
  t.deepEqual(b.receive(namedPeer('h2'), 'hard', 'endpoint-independent', false, 1_000).send, []);
  b.receive(namedPeer('h1'), 'open', 'endpoint-independent', false, 1_100);
  // h2 sends 'open' without our 'ready': out of order, nothing.
  t.deepEqual(b.receive(namedPeer('h2'), 'open', 'endpoint-independent', false, 1_100).send, []);
  const targets = new Set<string>();
  for (let now = 1_100; now < 30_000; now += 50) {
    for (const s of b.tick(now, 'endpoint-independent', new Set([namedPeer('h1'), namedPeer('h2')])).send)
      if ('endpoint' in s) targets.add(s.endpoint.address);
  }
  t.deepEqual([...targets], ['203.0.113.2']);
});

test('a hole wins only in our attempt, from the IP the holes were opened toward', (t) => {
  const b = new Birthday(seededUniform(8), signed);
  b.seen(E, EASY_PUBLIC, 0);
  // No attempt: a message on a hole number changes nothing.
  b.heardOnHole(E, EASY_PUBLIC, 3);
  t.is(b.holeFor(E, EASY_PUBLIC), undefined);
  let steps = 0;
  for (let now = 0; now <= BIRTHDAY_AFTER_MS + 1_000 && steps === 0; now += 100)
    steps = b.tick(now, 'endpoint-dependent', new Set([E])).send.length;
  t.is(steps, 1);
  const open = b.receive(E, 'ready', 'endpoint-dependent', false, 6_000).send;
  t.is(open.filter((s) => 'hole' in s && s.hole !== undefined).length, BIRTHDAY_HOLES);
  t.true(
    open.every((s) => !('endpoint' in s) || epText(s.endpoint) === epText(EASY_PUBLIC)),
    'holes open only toward the introduced endpoint',
  );
  b.heardOnHole(E, ep('192.0.2.77:51820'), 5);
  t.is(b.holeFor(E, ep('192.0.2.77:51820')), undefined, 'from elsewhere: no win');
  b.heardOnHole(E, EASY_PUBLIC, BIRTHDAY_HOLES + 1);
  t.is(b.holeFor(E, EASY_PUBLIC), undefined, 'a hole we never opened');
  b.heardOnHole(E, EASY_PUBLIC, 5);
  b.heardOnHole(E, EASY_PUBLIC, 9);
  t.is(b.holeFor(E, EASY_PUBLIC), 5, 'the first hole to hear wins');
  // The peer leaves: its holes close at the next tick.
  b.forget(E);
  t.deepEqual(b.tick(7_000, 'endpoint-dependent', new Set()).close, [{ peer: E }]);
  t.is(b.holeFor(E, EASY_PUBLIC), undefined);
});

test('over 200 simulated pairs with 256 random holes among 64,512 ports, ≥ 99% go direct, in ~2.5 s median', (t) => {
  const times: number[] = [];
  let failed = 0;
  for (let seed = 100; seed < 300; seed++) {
    const p = new Pair(seed);
    p.run(35_000);
    const open = p.steps.find((s) => s.step === 'open');
    if (!p.direct || open === undefined) failed++;
    else times.push(p.hitAt! - open.at);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  t.log(`${200 - failed}/200 direct; from 'open' to the hit: median ${median} ms, max ${times.at(-1)} ms`);
  t.true(failed <= 2, `${failed} failed`);
  t.true(median >= 1_000 && median <= 4_500, `median ${median} ms`);
});
