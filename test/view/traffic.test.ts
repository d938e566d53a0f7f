import test from 'ava';
import { emptyTraffic, HISTORY, idle, observe, SILENCE_MS, trafficOf } from '../../cli/view/traffic.js';
import { recordedStream, STEP_MS, statusAt, T0 } from './fixtures.js';

const BRAVO = statusAt(0).peers.find((p) => p.name === 'bravo')!.publicKey;

test('a rate needs two statuses; the first only sets the baseline', (t) => {
  const one = observe(emptyTraffic, statusAt(0), T0);
  t.is(trafficOf(one, BRAVO).rx, null);
  t.deepEqual(trafficOf(one, BRAVO).history, []);
  const two = observe(one, statusAt(1), T0 + STEP_MS);
  t.is(trafficOf(two, BRAVO).rx, 250_000);
  t.is(trafficOf(two, BRAVO).tx, 50_000);
  t.deepEqual(trafficOf(two, BRAVO).history, [300_000]);
});

test('rates are per second of the clock, whatever the interval', (t) => {
  const one = observe(emptyTraffic, statusAt(0), T0);
  const two = observe(one, statusAt(1), T0 + 2 * STEP_MS);
  t.is(trafficOf(two, BRAVO).rx, 125_000);
});

test('a burst of statuses within a moment is folded into the next sample', (t) => {
  let s = observe(emptyTraffic, statusAt(0), T0);
  s = observe(s, statusAt(1), T0 + 50);
  t.is(trafficOf(s, BRAVO).rx, null);
  s = observe(s, statusAt(2), T0 + 1000);
  t.is(trafficOf(s, BRAVO).rx, 650_000, 'measured from the first status of the burst');
});

test('a counter that goes down (node restarted) starts the rate over instead of going negative', (t) => {
  let s = observe(emptyTraffic, statusAt(3), T0);
  s = observe(s, statusAt(0), T0 + STEP_MS);
  t.is(trafficOf(s, BRAVO).rx, null);
  s = observe(s, statusAt(1), T0 + 2 * STEP_MS);
  t.is(trafficOf(s, BRAVO).rx, 250_000);
});

test('silence from an on-change stream means nothing moved: the rate falls to zero', (t) => {
  let s = observe(emptyTraffic, statusAt(0), T0);
  s = observe(s, statusAt(1), T0 + STEP_MS);
  t.is(idle(s, T0 + STEP_MS + SILENCE_MS - 1), s, 'not yet silent: the same state, so no render');
  s = idle(s, T0 + STEP_MS + SILENCE_MS);
  t.is(trafficOf(s, BRAVO).rx, 0);
  t.deepEqual(trafficOf(s, BRAVO).history, [300_000, 0]);
});

test('history keeps only the most recent samples', (t) => {
  let s = emptyTraffic;
  const base = recordedStream[0]!;
  for (let i = 0; i < HISTORY + 10; i++) {
    const peers = base.peers.map((p) => ({ ...p, rxBytes: i * 1000, txBytes: 0 }));
    s = observe(s, { ...base, peers }, T0 + i * STEP_MS);
  }
  const history = trafficOf(s, BRAVO).history;
  t.is(history.length, HISTORY);
  t.true(history.every((v) => v === 1000));
});

test('a member that leaves is forgotten', (t) => {
  let s = observe(emptyTraffic, statusAt(0), T0);
  const without = { ...statusAt(1), peers: statusAt(1).peers.filter((p) => p.name !== 'bravo') };
  s = observe(s, without, T0 + STEP_MS);
  t.false(s.peers.has(BRAVO));
});
