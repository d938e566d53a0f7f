/**
 * Whether a NAT lets in what it was never asked for (issue 13 point 4, "firewall or none"), measured
 * with a member's help (core/discovery/filterTest.ts): under the simulated network for each kind of
 * filter, and the helper's side against a member that would use it to send datagrams elsewhere or
 * often.
 */

import test from 'ava';
import type { PeerId } from '../../core/base/keys.js';
import {
  FILTER_HELP_GAP_MS,
  FILTER_HELPS_PER_MINUTE,
  FILTER_HOLE,
  FILTER_KNOCK_WAIT_MS,
  FILTER_PROBE_WAIT_MS,
  FILTER_SEEN_WAIT_MS,
  FILTER_SENT_WAIT_MS,
  FILTER_TEST_FIRST_MS,
  FILTER_TEST_RETRY_MS,
  FilterTest,
} from '../../core/discovery/filterTest.js';
import { type DiscoveryMessage, decodeDiscovery, encodeDiscovery } from '../../core/discovery/index.js';
import type { FilterStep, FilterTestMessage } from '../../core/discovery/messages.js';
import type { NatBehaviour } from '../../core/discovery/natBehaviour.js';
import { ep, epText } from '../helpers/endpoints.js';
import { namedPeer } from '../helpers/peerIds.js';
import { seededUniform } from '../helpers/seeded.js';
import type { Filtering as SimFiltering } from './netSim.js';
import { type Member, SimWorld } from './simWorld.js';

/** Two public members (the helpers) and one member behind a NAT of each filtering kind. */
function world(seed: number) {
  const w = new SimWorld(seed);
  const p = w.member('p', '203.0.113.10');
  const q = w.member('q', '203.0.113.11');
  const behind = new Map<SimFiltering, Member>();
  const kinds: SimFiltering[] = ['endpoint-independent', 'address', 'address-and-port'];
  kinds.forEach((kind, i) => {
    const nat = w.nat(`nat${i}`, `198.51.100.${i + 1}`, 'endpoint-independent', kind);
    behind.set(kind, w.member(`m${i}`, `198.18.${i + 1}.10`, nat));
  });
  // Linux MASQUERADE, port kept: with its firewall, and with no filter rules (drops what it was not
  // asked for, but keeps it).
  const fw = w.nat('fw', '198.51.100.7', 'endpoint-independent', 'address-and-port', { keepPort: true });
  const walled = w.member('f', '198.18.7.10', fw);
  const nofw = w.nat('nofw', '198.51.100.8', 'endpoint-independent', 'address-and-port', {
    firewall: false,
    keepPort: true,
  });
  const open = w.member('o', '198.18.8.10', nofw);
  const hard = w.member('h', '198.18.9.10', w.nat('hardnat', '198.51.100.9', 'endpoint-dependent'));
  w.start();
  return { w, p, q, behind, walled, open, nofw, hard };
}

const filtering = (m: Member, now: number) => m.discovery.natClassification(now).filtering;
/** Tests members helped with, all together. */
const helps = (w: SimWorld) => w.members.reduce((n, m) => n + m.discovery.probeCounters.filterTestsHelped, 0);

test('each filter kind is told within seconds: open without a filter or with one by address; by address and port, firewall or none; per destination, filtered', (t) => {
  const { w, p, behind, walled, open, nofw, hard } = world(1);
  let at = 0;
  const tested = [...behind.values(), walled, open, hard];
  for (; at <= 30_000 && tested.some((m) => filtering(m, at) === null); at += 100) w.run(at);
  t.log(
    `concluded within ${at} ms: ${[...behind].map(([k, m]) => `${k} → ${filtering(m, at)}`).join(', ')}, port kept → ${filtering(walled, at)}, port kept, no firewall → ${filtering(open, at)}, port per destination → ${filtering(hard, at)}`,
  );
  t.is(filtering(behind.get('endpoint-independent')!, at), 'open');
  // The helper's fresh port is at an IP we ping: an address-dependent filter lets it in.
  t.is(filtering(behind.get('address')!, at), 'open');
  // The knock left from our own port: the probe had left nothing behind.
  t.is(filtering(walled, at), 'firewall');
  // A port of the NAT's own for our test's socket, the same for the knock: a firewall.
  t.is(filtering(behind.get('address-and-port')!, at), 'firewall');
  // The probe was kept: the knock toward its pair of addresses was given another port.
  t.is(filtering(open, at), 'no-firewall');
  t.true(nofw.tuplesTaken >= 1);
  // Every destination gets another port: the knock's says nothing.
  t.is(filtering(hard, at), 'filtered');
  t.is(filtering(p, at), 'open', 'no NAT at all');
  t.true(at <= 10_000, `${at} ms`);
  w.run(10_000);
  t.true(
    w.members.every((m) => filtering(m, 10_000) !== null),
    'every member tested, helpers included',
  );
  t.is(helps(w), w.members.length, 'one help for each test: one datagram each');
});

test('a test is repeated only every 10 minutes: 7 datagrams of help an hour per member at most', (t) => {
  const { w } = world(2);
  w.run(3_600_000);
  const n = w.members.length;
  // Each member: one test at the start and one every 10 minutes after.
  t.log(`helps in an hour for ${n} members: ${helps(w)}`);
  t.true(helps(w) >= n * 6 && helps(w) <= n * 7, `${helps(w)}`);
  t.is(
    w.members.reduce((r, m) => r + m.discovery.probeCounters.filterTestsRefused, 0),
    0,
  );
});

// --- the helper's side, against a member -----------------------------------------------------------

/** A filter-test message of step `step`. */
function msg(step: FilterStep, n: Uint8Array, ports?: number[]): FilterTestMessage {
  return { kind: 'filterTest', step, nonce: n, ...(ports && { ports }) };
}

/** `f.receive`, on a node with no NAT (a helper that can be knocked at) unless said. */
function rx(
  f: FilterTest,
  from: PeerId,
  m: FilterTestMessage,
  source: { endpoint: string } | { via: PeerId },
  directTo: string | undefined,
  now: number,
  mapping: NatBehaviour = 'none',
  keptToward = 0,
) {
  return f.receive(
    from,
    m,
    'endpoint' in source ? { endpoint: ep(source.endpoint) } : source,
    directTo === undefined ? undefined : ep(directTo),
    { mapping, keptToward, vantagePoints: 2, listenPort: 51820 },
    now,
  );
}

const A = namedPeer('asker');
const A_AT = '198.51.100.1:51820';
const nonce = () => new Uint8Array(12).fill(7);

test('a helper probes only the endpoint its direct path to the asker goes to, once, from a fresh socket', (t) => {
  const f = new FilterTest(seededUniform(3));
  const sends = rx(f, A, msg('ask', nonce()), { endpoint: A_AT }, A_AT, 0);
  t.deepEqual(
    sends.map((s) => [
      epText(s.endpoint),
      s.fresh ?? false,
      s.message.kind === 'filterTest' && s.message.step,
    ]),
    [
      [A_AT, true, 'probe'],
      [A_AT, false, 'sent'],
      [A_AT, false, 'port'],
    ],
  );
  t.true(sends.every((s) => s.to === A));
  // A helper behind a NAT of its own: its fresh socket's port is not where a knock would arrive.
  const g = new FilterTest(seededUniform(3));
  const natted = rx(g, A, msg('ask', nonce()), { endpoint: A_AT }, A_AT, 0, 'endpoint-independent');
  t.deepEqual(
    natted.map((s) => s.message.kind === 'filterTest' && s.message.step),
    ['probe', 'sent'],
  );
  t.deepEqual(rx(g, A, msg('knock', nonce()), { endpoint: A_AT }, A_AT, 10), [], 'no knock awaited');
  // The ask from another port of the IP the direct path goes to (the asker's test socket): the
  // probe goes there, the asker's own address still.
  const e = new FilterTest(seededUniform(3));
  const testSocket = A_AT.replace(/:\d+$/, ':40123');
  const other = rx(e, A, msg('ask', nonce()), { endpoint: testSocket }, A_AT, 0);
  t.deepEqual(
    other.map((s) => [
      epText(s.endpoint),
      s.fresh ?? false,
      s.message.kind === 'filterTest' && s.message.step,
    ]),
    [
      // Its listen port too, first: a router that forwards it lets that probe in.
      [A_AT, true, 'probe'],
      [testSocket, true, 'probe'],
      [testSocket, false, 'sent'],
      [testSocket, false, 'port'],
    ],
  );
});

test("the asker's ask and knock leave from a socket of the test's own, closed when the test ends; never the main one", (t) => {
  const f = new FilterTest(seededUniform(31));
  f.tick(0, () => new Map([[H, ep(H_AT)]]));
  const t0 = FILTER_TEST_FIRST_MS;
  const ask = f.tick(t0, () => new Map([[H, ep(H_AT)]])).send;
  t.deepEqual(
    ask.map((s) => s.hole),
    [FILTER_HOLE],
  );
  const n = ask[0]!.message.kind === 'filterTest' ? ask[0]!.message.nonce : new Uint8Array();
  rx(f, H, msg('sent', n), { endpoint: H_AT }, H_AT, t0 + 20);
  rx(f, H, msg('port', n, [30001]), { endpoint: H_AT }, H_AT, t0 + 20);
  const knock = f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
  t.deepEqual(
    knock.send.map((s) => s.hole),
    [FILTER_HOLE],
  );
  t.deepEqual(knock.close, [], 'open while the knock is answered');
  rx(f, H, msg('seen', n, [40001, 1502]), { endpoint: H_AT }, H_AT, t0 + 1_100, 'endpoint-independent');
  t.is(f.filtering(), 'no-firewall');
  t.deepEqual(f.tick(t0 + 1_200, () => new Map([[H, ep(H_AT)]])).close, [H], 'closed once concluded');
  t.deepEqual(f.tick(t0 + 1_300, () => new Map([[H, ep(H_AT)]])).close, [], 'once');
  // A helper that never says a word: the socket closes when the wait ends.
  const g = new FilterTest(seededUniform(32));
  g.tick(0, () => new Map([[H, ep(H_AT)]]));
  g.tick(t0, () => new Map([[H, ep(H_AT)]]));
  t.deepEqual(g.tick(t0 + FILTER_SENT_WAIT_MS, () => new Map([[H, ep(H_AT)]])).close, [H]);
});

test('an asker picks helpers with no NAT of their own when there are any', (t) => {
  const f = new FilterTest(seededUniform(12));
  const natted = namedPeer('a-natted');
  const direct = new Map([
    [natted, ep('198.51.100.7:40000')],
    [H, ep(H_AT)],
  ]);
  f.tick(
    0,
    () => direct,
    (id) => id === H,
  );
  const out = f.tick(
    FILTER_TEST_FIRST_MS,
    () => direct,
    (id) => id === H,
  );
  t.deepEqual(
    out.send.map((s) => s.to),
    [H],
  );
});

test('the attack: an ask from anywhere but the direct path, or through a relay, makes the helper send nothing', (t) => {
  const f = new FilterTest(seededUniform(4));
  const victim = '192.0.2.50:9999';
  // A spoofed source (the victim's, at another IP than the direct path's), no direct path, a relay: all refused.
  t.deepEqual(rx(f, A, msg('ask', nonce()), { endpoint: victim }, A_AT, 0), []);
  t.deepEqual(rx(f, A, msg('ask', nonce()), { endpoint: victim }, undefined, 0), []);
  t.deepEqual(rx(f, A, msg('ask', nonce()), { via: namedPeer('relay') }, A_AT, 0), []);
  t.deepEqual(f.stats, { filterTestsHelped: 0, filterTestsRefused: 3 });
});

test('the attack: asks in a flood are helped once a minute per member, 10 a minute for everyone', (t) => {
  const f = new FilterTest(seededUniform(5));
  let sent = 0;
  for (let i = 0; i < 100; i++)
    sent += rx(f, A, msg('ask', nonce()), { endpoint: A_AT }, A_AT, i * 100).length;
  t.is(sent, 3, 'one probe and two words in 10 s');
  t.is(f.stats.filterTestsRefused, 99);
  t.is(
    rx(f, A, msg('ask', nonce()), { endpoint: A_AT }, A_AT, FILTER_HELP_GAP_MS).length,
    3,
    'again a minute later',
  );
  // Thirty members at once, within one minute: ten are helped.
  const g = new FilterTest(seededUniform(6));
  let probes = 0;
  for (let i = 0; i < 30; i++) {
    const at = `198.51.100.${i + 1}:51820`;
    probes += rx(g, namedPeer(`m${i}`), msg('ask', nonce()), { endpoint: at }, at, 1_000 + i).filter(
      (s) => s.fresh,
    ).length;
  }
  t.is(probes, FILTER_HELPS_PER_MINUTE);
});

// --- the asker's side ------------------------------------------------------------------------------

const H = namedPeer('helper');
const H_AT = '203.0.113.10:51820';

function asked(f: FilterTest, at: number): Uint8Array {
  const out = f.tick(at, () => new Map([[H, ep(H_AT)]]));
  const ask = out.send.find((s) => s.message.kind === 'filterTest');
  if (ask?.message.kind !== 'filterTest') throw new Error(`no ask at ${at}`);
  return ask.message.nonce;
}

test('no word from the helper: nothing concluded, asked again later', (t) => {
  const f = new FilterTest(seededUniform(7));
  f.tick(0, () => new Map([[H, ep(H_AT)]]));
  const t0 = FILTER_TEST_FIRST_MS;
  asked(f, t0);
  f.tick(t0 + FILTER_SENT_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
  t.is(f.filtering(), null);
  t.deepEqual(f.tick(t0 + FILTER_SENT_WAIT_MS + 1_000, () => new Map([[H, ep(H_AT)]])).send, []);
  // Asked again 30 s later, then 60 s after that one also went unanswered, then 120 s...
  let at = t0 + FILTER_SENT_WAIT_MS + FILTER_TEST_RETRY_MS;
  const gaps: number[] = [];
  for (let i = 0; i < 8; i++) {
    asked(f, at);
    t.deepEqual(f.tick(at + FILTER_SENT_WAIT_MS + 1, () => new Map([[H, ep(H_AT)]])).send, []);
    const next = f.tick(at + FILTER_SENT_WAIT_MS + 2, () => new Map([[H, ep(H_AT)]])).wakeAt;
    gaps.push(next - (at + FILTER_SENT_WAIT_MS + 1));
    at = next;
  }
  t.deepEqual(
    gaps.map((g) => g / 1000),
    [60, 120, 240, 480, 600, 600, 600, 600],
  );
});

test("the attack: knocks answered once per help, from the asker's address only, in time, to where the ask came from", (t) => {
  const f = new FilterTest(seededUniform(9));
  const n = nonce();
  const knock = (from: PeerId, source: string, at: number, k = n) =>
    rx(f, from, msg('knock', k), { endpoint: source }, A_AT, at);
  // No help given: a knock is nothing.
  t.deepEqual(knock(A, '198.51.100.1:40000', 0), []);
  rx(f, A, msg('ask', n), { endpoint: A_AT }, A_AT, 0);
  // Another member's knock, a wrong nonce, another address, through a relay: nothing.
  t.deepEqual(knock(namedPeer('other'), '198.51.100.1:40000', 10), []);
  t.deepEqual(knock(A, '198.51.100.1:40000', 10, new Uint8Array(12)), []);
  t.deepEqual(knock(A, '192.0.2.50:40000', 10), []);
  t.deepEqual(rx(f, A, msg('knock', n), { via: namedPeer('relay') }, A_AT, 10), []);
  // The asker's own: one word, to the endpoint the ask came from, with both ports.
  const seen = knock(A, '198.51.100.1:40000', 20);
  t.deepEqual(seen, [{ to: A, endpoint: ep(A_AT), message: msg('seen', n, [51820, 40000]) }]);
  t.deepEqual(knock(A, '198.51.100.1:40000', 30), [], 'once');
  // A knock too late after a help is nothing.
  const g = new FilterTest(seededUniform(10));
  rx(g, A, msg('ask', n), { endpoint: A_AT }, A_AT, 0);
  t.deepEqual(rx(g, A, msg('knock', n), { endpoint: A_AT }, A_AT, FILTER_KNOCK_WAIT_MS), []);
  // The awaited knocks go with the member, and end in time: the table stays bounded.
  const h = new FilterTest(seededUniform(11));
  rx(h, A, msg('ask', n), { endpoint: A_AT }, A_AT, 0);
  h.forget(A);
  t.deepEqual(rx(h, A, msg('knock', n), { endpoint: A_AT }, A_AT, 10), []);
});

test("the helper's word without its probe is 'filtered'; its probe from its main socket, or another's, is no evidence", (t) => {
  const f = new FilterTest(seededUniform(8));
  f.tick(0, () => new Map([[H, ep(H_AT)]]));
  const t0 = FILTER_TEST_FIRST_MS;
  const n = asked(f, t0);
  rx(f, H, msg('probe', n), { endpoint: H_AT }, H_AT, t0 + 10);
  rx(f, namedPeer('someone'), msg('probe', n), { endpoint: '203.0.113.10:30001' }, undefined, t0 + 10);
  rx(f, H, msg('probe', new Uint8Array(12)), { endpoint: '203.0.113.10:30001' }, H_AT, t0 + 10);
  rx(f, H, msg('sent', n), { endpoint: H_AT }, H_AT, t0 + 20);
  t.is(f.filtering(), null);
  f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
  t.is(f.filtering(), 'filtered');
});

test('after the word, no probe: a knock at the fresh port tells firewall (same port), no firewall (another), or nothing sure', (t) => {
  const run = (seed: number, seen: ((n: Uint8Array, at: number) => void) | undefined, port = true) => {
    const f = new FilterTest(seededUniform(seed));
    f.tick(0, () => new Map([[H, ep(H_AT)]]));
    const t0 = FILTER_TEST_FIRST_MS;
    const n = asked(f, t0);
    rx(f, H, msg('sent', n), { endpoint: H_AT }, H_AT, t0 + 20);
    if (port) rx(f, H, msg('port', n, [30001]), { endpoint: H_AT }, H_AT, t0 + 20);
    const knocks = f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS, () => new Map([[H, ep(H_AT)]])).send;
    t.is(f.filtering(), port ? null : 'filtered');
    if (port)
      t.deepEqual(knocks, [
        { to: H, endpoint: ep('203.0.113.10:30001'), hole: FILTER_HOLE, message: msg('knock', n) },
      ]);
    else t.deepEqual(knocks, []);
    seen?.(n, t0 + 30 + FILTER_PROBE_WAIT_MS);
    f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS + FILTER_SEEN_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
    return { f, n };
  };
  let g: FilterTest | undefined;
  const seenFrom =
    (ports: number[], mapping: NatBehaviour = 'endpoint-independent', kept = 0) =>
    (n: Uint8Array, at: number) => {
      rx(g!, H, msg('seen', n, ports), { endpoint: H_AT }, H_AT, at, mapping, kept);
    };
  const withSeen = (seed: number, ports: number[], mapping?: NatBehaviour, kept?: number) => {
    const f = new FilterTest(seededUniform(seed));
    g = f;
    f.tick(0, () => new Map([[H, ep(H_AT)]]));
    const t0 = FILTER_TEST_FIRST_MS;
    const n = asked(f, t0);
    rx(f, H, msg('sent', n), { endpoint: H_AT }, H_AT, t0 + 20);
    rx(f, H, msg('port', n, [30001]), { endpoint: H_AT }, H_AT, t0 + 20);
    // A 'seen' before our knock, or from another member, is no evidence.
    rx(f, H, msg('seen', n, [51820, 51820]), { endpoint: H_AT }, H_AT, t0 + 25);
    t.is(f.filtering(), null);
    f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
    rx(f, namedPeer('someone'), msg('seen', n, [51820, 51820]), { endpoint: H_AT }, H_AT, t0 + 1_100);
    t.is(f.filtering(), null);
    seenFrom(ports, mapping, kept)(n, t0 + 1_100);
    return f.filtering();
  };
  // A NAT that maps our test's socket to a port of its own, the same toward all: the same port for
  // the knock, a firewall; another, a taken tuple. (The socket sent nothing else: no other port of
  // its own that Linux could reuse.)
  t.is(withSeen(20, [40001, 40001]), 'firewall');
  t.is(withSeen(21, [40001, 1502]), 'no-firewall');
  // A port-keeping NAT: our own port for the knock, or not.
  t.is(withSeen(28, [51820, 51820], 'endpoint-independent', 2), 'firewall');
  t.is(withSeen(29, [51820, 1502], 'endpoint-independent', 2), 'no-firewall');
  t.is(withSeen(22, [40001, 52113], 'endpoint-dependent'), 'filtered');
  t.is(withSeen(23, [40001, 52113], 'unknown'), 'filtered');
  // Vantage points that disagree (tuples taken toward half of them) while one sees our own port: a
  // port-keeping NAT, so another port for the knock is a taken tuple too.
  t.is(withSeen(26, [51221, 14131], 'endpoint-dependent', 1), 'no-firewall');
  // ...and the ask's port again for the knock: nothing held the pair, a firewall.
  t.is(withSeen(27, [51221, 51221], 'endpoint-dependent', 1), 'firewall');
  // No 'seen' in time: filtered, no more. An older helper that says no port: no knock, filtered.
  t.is(run(24, undefined).f.filtering(), 'filtered');
  t.is(run(25, undefined, false).f.filtering(), 'filtered');
});

test('a later test that cannot tell (its knock unanswered) leaves what an earlier one found', (t) => {
  const f = new FilterTest(seededUniform(31));
  const direct = () => new Map([[H, ep(H_AT)]]);
  f.tick(0, direct);
  let at = FILTER_TEST_FIRST_MS;
  for (const answered of [true, false]) {
    const n = asked(f, at);
    rx(f, H, msg('sent', n), { endpoint: H_AT }, H_AT, at + 20);
    rx(f, H, msg('port', n, [30001]), { endpoint: H_AT }, H_AT, at + 20);
    t.is(f.tick(at + 20 + FILTER_PROBE_WAIT_MS, direct).send.length, 1, 'the knock');
    if (answered)
      rx(
        f,
        H,
        msg('seen', n, [51820, 1502]),
        { endpoint: H_AT },
        H_AT,
        at + 1_100,
        'endpoint-independent',
        2,
      );
    const next = f.tick(at + 20 + FILTER_PROBE_WAIT_MS + FILTER_SEEN_WAIT_MS, direct).wakeAt;
    t.is(f.filtering(), 'no-firewall');
    at = next;
  }
});

test('the messages are small and of one size per step, and junk does not decode', (t) => {
  for (const step of ['ask', 'probe', 'sent', 'knock'] as const) {
    const m: DiscoveryMessage = { kind: 'filterTest', step, nonce: nonce() };
    const bytes = encodeDiscovery(m);
    t.is(bytes.length, 14);
    t.deepEqual(decodeDiscovery(bytes), { ok: true, message: m });
  }
  const port = msg('port', nonce(), [30001]);
  t.is(encodeDiscovery(port).length, 16);
  t.deepEqual(decodeDiscovery(encodeDiscovery(port)), { ok: true, message: port });
  const seen = msg('seen', nonce(), [51820, 1502]);
  t.is(encodeDiscovery(seen).length, 18);
  t.deepEqual(decodeDiscovery(encodeDiscovery(seen)), { ok: true, message: seen });
  // Ports missing, extra, or zero; a step that carries none with one.
  t.false(decodeDiscovery(Uint8Array.of(0x29, 4, ...nonce())).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 4, ...nonce(), 0, 0)).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 6, ...nonce(), 1, 1)).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 6, ...nonce(), 1, 1, 1, 1, 1)).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 5, ...nonce(), 1, 1)).ok);
  t.throws(() => encodeDiscovery(msg('seen', nonce(), [51820])));
  t.false(decodeDiscovery(Uint8Array.of(0x29, 7, ...nonce())).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 1, ...nonce(), 0)).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 1, 1, 2)).ok);
});
