/**
 * Issue 10, hole 6: a member must not be able to aim our probes at addresses of its choosing. An
 * introduction counts only when we asked that member about that peer, and every probe to an address
 * that never answered is paid from the budgets of the path and of the member that named it.
 */
import test from 'ava';
import type { DiscoveryMessage, DiscoverySend } from '../../core/discovery/index.js';
import { Driver, type Responder } from './driver.js';

const id = (n: number) => Buffer.from(new Uint8Array(32).fill(n)).toString('base64');
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
function answerPings(answering: readonly string[]): Responder {
  return (s) =>
    answering.includes(s.to) && s.message.kind === 'ping' && s.via === undefined && s.endpoint === addr[s.to]
      ? [{ from: s.to, message: { kind: 'pong', txid: s.message.txid }, source: { endpoint: s.endpoint }, delayMs: 20 }]
      : [];
}

/** ...and `liar` answers each introduction request we send it with the victims' addresses. */
function answerRequestsWithVictims(answering: readonly string[], liar: string): Responder {
  const pings = answerPings(answering);
  return (s: DiscoverySend, at: number) => {
    if (s.to !== liar || s.message.kind !== 'introduceRequest') return pings(s, at);
    const message: DiscoveryMessage = { kind: 'introduce', peer: s.message.peer, candidates: VICTIMS };
    return [{ from: liar, message, source: { endpoint: addr[liar]! }, delayMs: 20 }];
  };
}

test('an introduction nobody asked for makes us send nothing to the addresses it names', (t) => {
  // P and Q are the introducers we ask about B; M, reached directly too, was never asked.
  const d = new Driver(
    SELF,
    [P, Q, M, B].map((p) => ({ id: p, candidates: [addr[p]!] })),
    answerPings([P, Q, M]),
  );
  d.run(1_000);
  const asked = d.sent.filter((s) => s.message.kind === 'introduceRequest').map((s) => s.to);
  t.false(asked.includes(M), 'the premise: M was not asked');
  for (let i = 0; i < 10; i++) {
    d.at(1_000 + i * 500, M, { kind: 'introduce', peer: key(B), candidates: VICTIMS }, { endpoint: addr[M]! });
  }
  d.run(30_000);
  t.is(d.pingsTo(VICTIM_SET), 0);
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
        ? { kind: 'introduce', peer: key(X[(i / 2) % X.length]!), candidates: VICTIMS }
        : { kind: 'callMeMaybe', candidates: VICTIMS };
    d.at(1_000 + i * 250, M, message, { endpoint: addr[M]! });
  }
  d.run(60_000);
  const probes = d.pingsTo(VICTIM_SET);
  t.log(`40 messages from one member: ${probes} pings to the 8 victim addresses in 60 s`);
  t.true(probes <= 100, `${probes} pings`);
});
