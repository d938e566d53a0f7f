/**
 * Whether a NAT lets in what it was never asked for (issue 13 point 4, "firewall or none"), measured
 * with a member's help (core/discovery/filterTest.ts): under the simulated network for each kind of
 * filter, and the helper's side against a member that would use it to send datagrams elsewhere or
 * often.
 */

import test from 'ava';
import {
  FILTER_HELP_GAP_MS,
  FILTER_HELPS_PER_MINUTE,
  FILTER_PROBE_WAIT_MS,
  FILTER_SENT_WAIT_MS,
  FILTER_TEST_FIRST_MS,
  FILTER_TEST_RETRY_MS,
  FilterTest,
} from '../../core/discovery/filterTest.js';
import { type DiscoveryMessage, decodeDiscovery, encodeDiscovery } from '../../core/discovery/index.js';
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
  const hard = w.member('h', '198.18.9.10', w.nat('hardnat', '198.51.100.9', 'endpoint-dependent'));
  w.start();
  return { w, p, q, behind, hard };
}

const filtering = (m: Member, now: number) => m.discovery.natClassification(now).filtering;
/** Tests members helped with, all together. */
const helps = (w: SimWorld) => w.members.reduce((n, m) => n + m.discovery.probeCounters.filterTestsHelped, 0);

test('each filter kind is told within seconds: open without a filter or with one by address, filtered by address and port', (t) => {
  const { w, p, behind, hard } = world(1);
  let at = 0;
  for (; at <= 30_000 && [...behind.values(), hard].some((m) => filtering(m, at) === null); at += 100)
    w.run(at);
  t.log(
    `concluded within ${at} ms: ${[...behind].map(([k, m]) => `${k} → ${filtering(m, at)}`).join(', ')}, port per destination → ${filtering(hard, at)}`,
  );
  t.is(filtering(behind.get('endpoint-independent')!, at), 'open');
  // The helper's fresh port is at an IP we ping: an address-dependent filter lets it in.
  t.is(filtering(behind.get('address')!, at), 'open');
  t.is(filtering(behind.get('address-and-port')!, at), 'filtered');
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

const A = namedPeer('asker');
const A_AT = '198.51.100.1:51820';
const nonce = () => new Uint8Array(12).fill(7);

test('a helper probes only the endpoint its direct path to the asker goes to, once, from a fresh socket', (t) => {
  const f = new FilterTest(seededUniform(3));
  const sends = f.receive(A, 'ask', nonce(), { endpoint: ep(A_AT) }, ep(A_AT), 0);
  t.deepEqual(
    sends.map((s) => [
      epText(s.endpoint),
      s.fresh ?? false,
      s.message.kind === 'filterTest' && s.message.step,
    ]),
    [
      [A_AT, true, 'probe'],
      [A_AT, false, 'sent'],
    ],
  );
  t.true(sends.every((s) => s.to === A));
});

test('the attack: an ask from anywhere but the direct path, or through a relay, makes the helper send nothing', (t) => {
  const f = new FilterTest(seededUniform(4));
  const victim = '192.0.2.50:9999';
  // A spoofed source (the victim's), a path not direct, a path elsewhere, a relay: all refused.
  t.deepEqual(f.receive(A, 'ask', nonce(), { endpoint: ep(victim) }, ep(A_AT), 0), []);
  t.deepEqual(f.receive(A, 'ask', nonce(), { endpoint: ep(victim) }, undefined, 0), []);
  t.deepEqual(f.receive(A, 'ask', nonce(), { via: namedPeer('relay') }, ep(A_AT), 0), []);
  t.deepEqual(f.stats, { filterTestsHelped: 0, filterTestsRefused: 3 });
});

test('the attack: asks in a flood are helped once a minute per member, 10 a minute for everyone', (t) => {
  const f = new FilterTest(seededUniform(5));
  let sent = 0;
  for (let i = 0; i < 100; i++)
    sent += f.receive(A, 'ask', nonce(), { endpoint: ep(A_AT) }, ep(A_AT), i * 100).length;
  t.is(sent, 2, 'one probe and one word in 10 s');
  t.is(f.stats.filterTestsRefused, 99);
  t.is(
    f.receive(A, 'ask', nonce(), { endpoint: ep(A_AT) }, ep(A_AT), FILTER_HELP_GAP_MS).length,
    2,
    'again a minute later',
  );
  // Thirty members at once, within one minute: ten are helped.
  const g = new FilterTest(seededUniform(6));
  let probes = 0;
  for (let i = 0; i < 30; i++) {
    const at = `198.51.100.${i + 1}:51820`;
    probes += g
      .receive(namedPeer(`m${i}`), 'ask', nonce(), { endpoint: ep(at) }, ep(at), 1_000 + i)
      .filter((s) => s.fresh).length;
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

test("the helper's word without its probe is 'filtered'; its probe from its main socket, or another's, is no evidence", (t) => {
  const f = new FilterTest(seededUniform(8));
  f.tick(0, () => new Map([[H, ep(H_AT)]]));
  const t0 = FILTER_TEST_FIRST_MS;
  const n = asked(f, t0);
  f.receive(H, 'probe', n, { endpoint: ep(H_AT) }, ep(H_AT), t0 + 10);
  f.receive(namedPeer('someone'), 'probe', n, { endpoint: ep('203.0.113.10:30001') }, undefined, t0 + 10);
  f.receive(H, 'probe', new Uint8Array(12), { endpoint: ep('203.0.113.10:30001') }, ep(H_AT), t0 + 10);
  f.receive(H, 'sent', n, { endpoint: ep(H_AT) }, ep(H_AT), t0 + 20);
  t.is(f.filtering(), null);
  f.tick(t0 + 20 + FILTER_PROBE_WAIT_MS, () => new Map([[H, ep(H_AT)]]));
  t.is(f.filtering(), 'filtered');
});

test('the messages are small and of one size, and junk does not decode', (t) => {
  for (const step of ['ask', 'probe', 'sent'] as const) {
    const m: DiscoveryMessage = { kind: 'filterTest', step, nonce: nonce() };
    const bytes = encodeDiscovery(m);
    t.is(bytes.length, 14);
    t.deepEqual(decodeDiscovery(bytes), { ok: true, message: m });
  }
  t.false(decodeDiscovery(Uint8Array.of(0x29, 4, ...nonce())).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 1, ...nonce(), 0)).ok);
  t.false(decodeDiscovery(Uint8Array.of(0x29, 1, 1, 2)).ok);
});
