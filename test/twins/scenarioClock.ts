/**
 * The clock whole-node scenarios run on. Simulated (the default): @sinonjs/fake-timers replaces
 * the process's Date, performance.now, setTimeout/setInterval and setImmediate while the scenario
 * runs, so the nodes, the simulated internet (netSim.ts in its 'real' mode reads the same globals)
 * and the memory twins all see one clock that moves only when the scenario waits. A minute of the
 * network costs the CPU its events take, never a minute of wall time, and a process short of CPU
 * cannot fall behind its timers. Real: the machine's own clock, for a bench that wants to see that.
 *
 * Promises and I/O still run on the real event loop: tickAsync yields to it after every timer.
 */
import FakeTimers from '@sinonjs/fake-timers';

export type ClockKind = 'sim' | 'real';

export interface ScenarioClock {
  readonly kind: ClockKind;
  /** Milliseconds on this clock since it was made. */
  elapsed(): number;
  /** Lets `ms` pass: every timer due meanwhile fires, in order. */
  sleep(ms: number): Promise<void>;
  /** Back to the machine's own timers; timers still pending on a simulated clock are dropped. */
  close(): void;
}

/** Start of simulated time: a fixed instant, so certificates and logs read the same every run. */
const SIM_EPOCH = Date.UTC(2026, 0, 1);

export function scenarioClock(kind: ClockKind): ScenarioClock {
  if (kind === 'real') {
    const start = performance.now();
    return {
      kind,
      elapsed: () => performance.now() - start,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      close: () => {},
    };
  }
  const clock = FakeTimers.install({
    now: SIM_EPOCH,
    toFake: [
      'Date',
      'performance',
      'setTimeout',
      'clearTimeout',
      'setInterval',
      'clearInterval',
      'setImmediate',
      'clearImmediate',
    ],
    // A thousand nodes keep tens of thousands of timers; the default (1000) guards test loops.
    loopLimit: 100_000_000,
  });
  const start = clock.now;
  return {
    kind,
    elapsed: () => clock.now - start,
    sleep: async (ms) => {
      await clock.tickAsync(ms);
    },
    close: () => clock.uninstall(),
  };
}

/** Waits on `clock` until `condition` holds, looking every `stepMs`; throws after `timeoutMs`. */
export async function until(
  clock: ScenarioClock,
  what: string,
  timeoutMs: number,
  condition: () => boolean,
  stepMs = 25,
): Promise<number> {
  const start = clock.elapsed();
  while (!condition()) {
    if (clock.elapsed() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await clock.sleep(stepMs);
  }
  return clock.elapsed() - start;
}

/** Lets time pass on `clock` until `promise` settles (a join waits on its own timers). */
export async function settle<T>(clock: ScenarioClock, promise: Promise<T>, stepMs = 10): Promise<T> {
  let done = false;
  const watched = promise.finally(() => {
    done = true;
  });
  // Bounded: whatever the promise waits on is on this clock, and every wait here has an end.
  for (let i = 0; !done && i < 1_000_000; i++) await clock.sleep(stepMs);
  return watched;
}
