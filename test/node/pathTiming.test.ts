/** Discovery's round trips timed where the data path sends and receives (core/node/pathTiming.ts). */
import test from 'ava';
import { PathTiming } from '../../core/node/pathTiming.js';

const txid = (n: number) => new Uint8Array(12).fill(n);

test("the round trip is the data path's arrival less the send, less the answerer's hold", (t) => {
  let now = 1000;
  const timing = new PathTiming(() => now);
  timing.pingSent(txid(1));
  // The pong reached our data path 0.9 ms later; the answerer held the ping 0.5 ms; our event loop
  // only got to it at 1004 (that delay is not the path's).
  now = 1004;
  const rtt = timing.rttMs(txid(1), 1000.9, 500);
  t.true(Math.abs(rtt! - 0.4) < 1e-9, String(rtt));
  t.is(timing.rttMs(txid(1), 1000.9, 500), undefined, 'a second pong for one ping is not timed');
});

test('what it cannot time it does not guess: an unknown ping, no arrival time, a hold longer than the trip', (t) => {
  const timing = new PathTiming(() => 0);
  t.is(timing.rttMs(txid(2), 5, 0), undefined);
  timing.pingSent(txid(3));
  t.is(timing.rttMs(txid(3), undefined, 0), undefined);
  timing.pingSent(txid(4));
  t.is(timing.rttMs(txid(4), 1, 2000), undefined);
});

test('the hold of a ping we answer runs from its arrival, within the call that answers it', (t) => {
  let now = 50;
  const timing = new PathTiming(() => now);
  timing.pingArrived(txid(5), 49.75);
  t.is(timing.heldUs(txid(5)), 250);
  t.is(timing.heldUs(txid(6)), undefined, 'not the ping being answered');
  timing.answered();
  now = 60;
  t.is(timing.heldUs(txid(5)), undefined);
});

test('sends are remembered for a bounded time and number', (t) => {
  let now = 0;
  const timing = new PathTiming(() => now);
  timing.pingSent(txid(7));
  now = 10_001;
  timing.pingSent(txid(8));
  t.is(timing.rttMs(txid(7), 10_002, 0), undefined, 'forgotten after 10 s');
  t.is(timing.rttMs(txid(8), 10_002, 0), 1);
  for (let i = 0; i < 5000; i++) timing.pingSent(Uint8Array.of(i >> 8, i & 255, ...new Uint8Array(10)));
  t.is(timing.rttMs(Uint8Array.of(0, 0, ...new Uint8Array(10)), 10_002, 0), undefined, 'the oldest gave way');
  t.is(timing.rttMs(Uint8Array.of(4999 >> 8, 4999 & 255, ...new Uint8Array(10)), 10_002, 0), 1);
});
