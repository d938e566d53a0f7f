/**
 * The tunnel's traffic watch (core/tunnel/trafficWatch.ts, issue 12 point 5): the data path's
 * counters are read while traffic moves, and not at all once it stops, with the data path's
 * one-shot event armed to wake it. On fake timers, against scripted counters.
 */
import FakeTimers from '@sinonjs/fake-timers';
import test from 'ava';
import { TrafficWatch } from '../../core/tunnel/trafficWatch.js';

/** Counters that move on the reads `moving` says, and a log of reads and armings. */
function scripted(moving: (read: number) => boolean) {
  const log: string[] = [];
  let reads = 0;
  return {
    log,
    counters: {
      read: () => {
        const moved = moving(reads++);
        log.push(moved ? 'moved' : 'still');
        return moved;
      },
      arm: () => void log.push('arm'),
    },
  };
}

test('reads every 250 ms while traffic moves, then arms the event and reads nothing', (t) => {
  const clock = FakeTimers.install();
  t.teardown(() => clock.uninstall());
  const { log, counters } = scripted((n) => n < 3);
  const watch = new TrafficWatch(counters);
  watch.wake();
  clock.tick(250 * 3);
  t.deepEqual(log, ['moved', 'moved', 'moved', 'still']);
  t.true(watch.awake);
  clock.tick(250);
  // Two quiet reads: armed, and one read after the arming for what came in between.
  t.deepEqual(log.slice(4), ['still', 'arm', 'still']);
  t.false(watch.awake);
  clock.tick(60_000);
  t.is(log.length, 7, 'asleep: no reads, no timer');
  t.is(clock.countTimers(), 0);
  watch.close();
});

test('traffic that slips in between the last read and the arming keeps the reads going', (t) => {
  const clock = FakeTimers.install();
  t.teardown(() => clock.uninstall());
  // Reads 0 and 1 are quiet; read 2 (the one right after the arming) sees what moved meanwhile.
  const { log, counters } = scripted((n) => n === 2);
  const watch = new TrafficWatch(counters);
  watch.wake();
  clock.tick(250);
  t.deepEqual(log, ['still', 'still', 'arm', 'moved']);
  t.true(watch.awake, 'still reading');
  clock.tick(500);
  t.deepEqual(log.slice(4), ['still', 'still', 'arm', 'still']);
  t.false(watch.awake);
  watch.close();
});

test('a wake while asleep reads at once; a wake while awake changes nothing; close stops it', (t) => {
  const clock = FakeTimers.install();
  t.teardown(() => clock.uninstall());
  const { log, counters } = scripted((n) => n === 4);
  const watch = new TrafficWatch(counters);
  watch.wake();
  clock.tick(250);
  t.false(watch.awake);
  const asleep = log.length;
  watch.wake();
  t.is(log[asleep], 'still', 'read at once');
  t.true(watch.awake);
  watch.wake();
  t.is(log.length, asleep + 1, 'no second read for a second wake');
  clock.tick(250);
  t.is(log[asleep + 1], 'moved');
  watch.close();
  t.false(watch.awake);
  clock.tick(10_000);
  t.is(log.length, asleep + 2);
  watch.wake();
  t.is(log.length, asleep + 2, 'closed: woken for nothing');
});
