/**
 * Issue 10, hole 6: a member must not be able to aim our probes at addresses of its choosing. An
 * introduction counts only when we asked that member about that peer, and every probe to an address
 * that never answered is paid from the budgets of the path and of the member that named it.
 */

import test from 'ava';
import { type PeerId, peerId } from '../../core/base/keys.js';
import {
  type DiscoveryMessage,
  type DiscoverySend,
  MAX_UNANSWERED_PER_PEER,
  MAX_UNANSWERED_PER_SENDER,
  UNANSWERED_CANDIDATE_TTL_MS,
  UNANSWERED_PROBE_BURST_PER_PEER,
  UNANSWERED_PROBE_BURST_PER_SENDER,
  UNANSWERED_PROBES_PER_SECOND_PER_PEER,
  UNANSWERED_PROBES_PER_SECOND_PER_SENDER,
} from '../../core/discovery/index.js';
import { ep, eps, epText } from '../helpers/endpoints.js';
import { Driver, type Responder } from './driver.js';
import { SimWorld } from './simWorld.js';

const id = (n: number) => peerId(new Uint8Array(32).fill(n));
const key = (peer: string) => new Uint8Array(Buffer.from(peer, 'base64'));
const SELF = id(1);
const P = id(2);
const Q = id(3);
const M = id(4);
const B = id(5);
const X = [id(6), id(7), id(8), id(9)];
const addr: Record<string, string> = {
  [P]: '203.0.113.2:51820',
  [Q]: '203.0.113.3:51820',
  [M]: '203.0.113.4:51820',
  [B]: '198.18.5.5:51820',
};
X.forEach((x, i) => {
  addr[x] = `198.18.6.${i + 1}:51820`;
});
/** Eight addresses of machines that are no members: what the attacker wants us to flood. */
const VICTIMS = Array.from({ length: 8 }, (_, i) => `192.0.2.${100 + i}:${9000 + i}`);
const VICTIM_SET = new Set(VICTIMS);

/** Members in `answering` answer our pings from their address, 20 ms later. */
function answerPings(answering: readonly PeerId[]): Responder {
  return (s) =>
    answering.includes(s.to) &&
    s.message.kind === 'ping' &&
    s.via === undefined &&
    epText(s.endpoint) === addr[s.to]
      ? [
          {
            from: s.to,
            message: { kind: 'pong', txid: s.message.txid },
            source: { endpoint: s.endpoint },
            delayMs: 20,
          },
        ]
      : [];
}

/** ...and `liar` answers each introduction request we send it with the victims' addresses. */
function answerRequestsWithVictims(answering: readonly PeerId[], liar: PeerId): Responder {
  const pings = answerPings(answering);
  return (s: DiscoverySend, at: number) => {
    if (s.to !== liar || s.message.kind !== 'introduceRequest') return pings(s, at);
    const message: DiscoveryMessage = { kind: 'introduce', peer: s.message.peer, candidates: eps(VICTIMS) };
    return [{ from: liar, message, source: { endpoint: ep(addr[liar]!) }, delayMs: 20 }];
  };
}

test('an introduction nobody asked for makes us send nothing to the addresses it names', (t) => {
  // P and Q are the introducers we ask about B; M, reached directly too, was not asked.
  const d = new Driver(
    SELF,
    [P, Q, M, B].map((p) => ({ id: p, candidates: [addr[p]!] })),
    answerPings([P, Q, M]),
  );
  d.run(1_000);
  const asked = () => d.sent.filter((s) => s.message.kind === 'introduceRequest');
  t.deepEqual([...new Set(asked().map((s) => s.to))].sort(), [P, Q].sort(), 'the premise: M was not asked');
  d.at(1_000, M, { kind: 'introduce', peer: key(B), candidates: eps(VICTIMS) }, { endpoint: ep(addr[M]!) });
  d.run(30_000);
  t.is(d.pingsTo(VICTIM_SET), 0);
  t.is(d.discovery.probeCounters.unaskedIntroductions, 1);
  // It only made us ask M ourselves, once: M's answer, had it sent one, would be paid from its budget.
  t.is(asked().filter((s) => s.to === M).length, 1);
});

test('a member we do not reach directly cannot introduce at all, however often it tries', (t) => {
  const d = new Driver(
    SELF,
    [P, M, B].map((p) => ({ id: p, candidates: [addr[p]!] })),
    answerPings([P]),
  );
  for (let i = 0; i < 20; i++) {
    d.at(
      1_000 + i * 500,
      M,
      { kind: 'introduce', peer: key(B), candidates: eps(VICTIMS) },
      { endpoint: ep(addr[M]!) },
    );
  }
  d.run(30_000);
  t.is(d.pingsTo(VICTIM_SET), 0);
  t.is(d.discovery.probeCounters.unaskedIntroductions, 20);
  t.false(d.sent.some((s) => s.to === M && s.message.kind === 'introduceRequest'));
});

test("the review's attack: 40 introductions and call-me-maybes naming 8 victims cost them a bounded number of probes", (t) => {
  // M is the one member we reach directly, so we ask it about every other peer, and it answers each
  // request with the victims too: the strongest position a member can be in.
  const d = new Driver(
    SELF,
    [M, ...X].map((p) => ({ id: p, candidates: [addr[p]!] })),
    answerRequestsWithVictims([M], M),
  );
  for (let i = 0; i < 40; i++) {
    const message: DiscoveryMessage =
      i % 2 === 0
        ? { kind: 'introduce', peer: key(X[(i / 2) % X.length]!), candidates: eps(VICTIMS) }
        : { kind: 'callMeMaybe', candidates: eps(VICTIMS) };
    d.at(1_000 + i * 250, M, message, { endpoint: ep(addr[M]!) });
  }
  let mostHeld = 0;
  for (let at = 1_000; at <= 60_000; at += 500) {
    d.run(at);
    mostHeld = Math.max(mostHeld, victimRoutes(d, [M, ...X]));
  }
  const probes = d.pingsTo(VICTIM_SET);
  // The bound: one member's budget for addresses that never answered, whatever it sends.
  const bound = UNANSWERED_PROBE_BURST_PER_SENDER + UNANSWERED_PROBES_PER_SECOND_PER_SENDER * 60;
  t.log(`40 messages from one member: ${probes} pings to the 8 victim addresses in 60 s (bound ${bound})`);
  t.log(`counters: ${JSON.stringify(d.discovery.probeCounters)}; victim routes held at most ${mostHeld}`);
  t.true(probes <= bound, `${probes} pings`);
  t.true(mostHeld <= MAX_UNANSWERED_PER_SENDER, `${mostHeld} victim routes held at once`);
  const c = d.discovery.probeCounters;
  t.true(c.refusedCandidates > 0 && c.refusedProbes > 0, JSON.stringify(c));
});

test('addresses nobody names any more age out: a member that goes quiet stops costing its victims', (t) => {
  const quietAt = 12_000;
  const liar = answerRequestsWithVictims([M], M);
  const d = new Driver(
    SELF,
    [M, ...X].map((p) => ({ id: p, candidates: [addr[p]!] })),
    (s, at) => (at < quietAt ? liar(s, at) : answerPings([M])(s, at)),
  );
  for (let i = 0; i < 10; i++)
    d.at(1_000 + i * 1_000, M, { kind: 'callMeMaybe', candidates: eps(VICTIMS) }, { endpoint: ep(addr[M]!) });
  d.run(quietAt);
  t.true(d.pingsTo(VICTIM_SET) > 0, 'the premise: the victims were probed while M named them');
  d.run(90_000);
  const after = quietAt + UNANSWERED_CANDIDATE_TTL_MS;
  t.is(d.pingsTo(VICTIM_SET, after), 0, 'no probe once the TTL has passed since M last named them');
  t.is(victimRoutes(d, [M, ...X]), 0);
  t.true(d.discovery.probeCounters.agedOutCandidates >= VICTIMS.length);
});

/**
 * We ask P and Q about B (and M, after its unasked introduction); each answers with `count` addresses
 * of its own that never answer (and nothing about anyone else).
 */
function threeIntroducers(count: number) {
  const dead = (n: number) => Array.from({ length: count }, (_, i) => `198.51.100.${n * 10 + i}:7000`);
  const named: Record<string, string[]> = { [P]: dead(1), [Q]: dead(2), [M]: dead(3) };
  const pings = answerPings([P, Q, M]);
  const d = new Driver(
    SELF,
    [P, Q, M, B].map((p) => ({ id: p, candidates: [addr[p]!] })),
    (s, at) => {
      const aboutB = s.message.kind === 'introduceRequest' && Buffer.from(s.message.peer).equals(key(B));
      if (!aboutB || named[s.to] === undefined) return pings(s, at);
      const message: DiscoveryMessage = { kind: 'introduce', peer: key(B), candidates: eps(named[s.to]!) };
      return [{ from: s.to, message, source: { endpoint: ep(addr[s.to]!) }, delayMs: 20 }];
    },
  );
  d.at(500, M, { kind: 'introduce', peer: key(B), candidates: eps([]) }, { endpoint: ep(addr[M]!) });
  d.run(30_000);
  const heldFor = (list: readonly string[]) =>
    d.discovery.snapshot(B, d.now)!.candidates.filter((c) => list.includes(c.endpoint)).length;
  return { d, named, all: new Set(Object.values(named).flat()), heldFor };
}

test('one path holds a bounded number of addresses named by others that never answered', (t) => {
  const { d, named, all, heldFor } = threeIntroducers(8);
  t.true(
    d.sent.some((s) => s.to === M && s.message.kind === 'introduceRequest'),
    'the hint made us ask M',
  );
  t.is(heldFor([...all]), MAX_UNANSWERED_PER_PEER);
  t.is(heldFor(named[M]!), 0, "the third introducer's list found the path full");
  t.true(d.discovery.probeCounters.refusedCandidates >= 8);
});

test("one path's pings to addresses that never answered are bounded, whoever named them", (t) => {
  const { d, named, all } = threeIntroducers(5);
  const perMember = Object.values(named).map((list) => d.pingsTo(new Set(list)));
  const pathBound = UNANSWERED_PROBE_BURST_PER_PEER + UNANSWERED_PROBES_PER_SECOND_PER_PEER * 30;
  t.log(
    `pings to each introducer's dead addresses: ${perMember.join(', ')}; all ${d.pingsTo(all)} (path bound ${pathBound})`,
  );
  t.true(
    perMember.every((n) => n > 0),
    'each introducer was heard',
  );
  t.true(d.pingsTo(all) <= pathBound);
});

test('when only one side asked the introducer, the other takes the hint and both go direct within 1 s', (t) => {
  const w = new SimWorld(1);
  const natA = w.nat('nat-a', '192.0.2.10', 'endpoint-independent');
  const natB = w.nat('nat-b', '198.51.100.20', 'endpoint-independent');
  // c and d share a's NAT and answer first: a asks them about b, not p. b asks p, and p answers both.
  w.member('c', '198.18.1.11', natA);
  w.member('d', '198.18.1.12', natA);
  w.member('p', '203.0.113.1');
  const a = w.member('a', '198.18.1.10', natA);
  const b = w.member('b', '198.18.2.10', natB);
  w.start();
  w.run(5_000);
  const ab = w.firstPath(a, b, 'direct');
  const ba = w.firstPath(b, a, 'direct');
  t.log(`one side asked: a→b direct after ${ab?.at} ms, b→a after ${ba?.at} ms`);
  t.true(a.discovery.probeCounters.unaskedIntroductions > 0, "the premise: p's introduction was a hint to a");
  t.true(ab !== undefined && ab.at <= 1_000, `a→b ${ab?.at}`);
  t.true(ba !== undefined && ba.at <= 1_000, `b→a ${ba?.at}`);
});

test('as the introducer we answer each side once per gap, so the side we hinted is answered too', (t) => {
  // We are P; A and B (say, behind NATs) both answer our pings.
  const A = id(20);
  const at: Record<string, string> = { [A]: '192.0.2.20:40000', [B]: '198.51.100.5:40000' };
  const d = new Driver(
    P,
    [A, B].map((p) => ({ id: p, candidates: [at[p]!] })),
    (s) =>
      s.message.kind === 'ping' && epText(s.endpoint) === at[s.to]
        ? [
            {
              from: s.to,
              message: { kind: 'pong', txid: s.message.txid },
              source: { endpoint: s.endpoint },
              delayMs: 20,
            },
          ]
        : [],
  );
  const introductionsAt = (time: number) =>
    d.sent.filter((s) => s.at === time && s.message.kind === 'introduce').map((s) => s.to);
  d.at(1_000, A, { kind: 'introduceRequest', peer: key(B) }, { endpoint: ep(at[A]!) });
  d.at(1_050, B, { kind: 'introduceRequest', peer: key(A) }, { endpoint: ep(at[B]!) });
  d.at(1_100, A, { kind: 'introduceRequest', peer: key(B) }, { endpoint: ep(at[A]!) });
  d.run(1_200);
  t.deepEqual(introductionsAt(1_000).sort(), [A, B].sort(), "A asked: each side gets the other's candidates");
  t.deepEqual(introductionsAt(1_050).sort(), [A, B].sort(), "B's request, made on our hint, is answered too");
  t.deepEqual(introductionsAt(1_100), [], "A's repeat within the gap is not");
});

/** Routes to victim addresses held on these peers' paths that have not answered. */
function victimRoutes(d: Driver, peers: readonly PeerId[]): number {
  let n = 0;
  for (const p of peers) {
    n += d.discovery
      .snapshot(p, d.now)!
      .candidates.filter((c) => VICTIM_SET.has(c.endpoint) && c.state !== 'ok').length;
  }
  return n;
}
