import { appendFileSync } from 'node:fs';
import type { ExecutionContext, TestFn } from 'ava';
import { oneAtATime } from './cpuLock.js';

/** True when this process may create namespaces and TUN devices. */
export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
export const inCi = process.env['CI'] === 'true';

/**
 * Registers a test that needs root (and, unless `alone: false` says it only needs root's
 * permissions, such as `overlay init`, network namespaces). It runs alone among root tests, even
 * those of other files (cpuLock.ts), so its timing bounds measure overlay, not a neighbour.
 * Outside CI, without root, it is skipped with a printed reason; under CI=true that is a failure,
 * because CI runs as root and a skip there would hide a test that never ran.
 */
export function rootTest<Context>(
  test: TestFn<Context>,
  title: string,
  impl: (t: ExecutionContext<Context>) => Promise<void> | void,
  options: { alone?: boolean } = {},
): void {
  if (isRoot) {
    if (options.alone === false) test(title, impl);
    else test.serial(title, (t) => oneAtATime(() => timed(title, () => impl(t))));
    return;
  }
  if (inCi) {
    test(title, (t) => {
      t.fail(
        'this test needs root and network namespaces; CI=true runs as root, so not being root is an error',
      );
    });
    return;
  }
  console.log(`skipping "${title}": needs root (run as root, or under CI=true)`);
  // A registered skip shows in AVA's summary, so the gap stays visible.
  test.skip(title, impl);
}

/**
 * Root tests run one at a time, so together they are most of CI's wall time. With
 * OVERLAY_TEST_TIMINGS=FILE each appends the seconds it held the lock and its title to FILE
 * (`sort -rn FILE` shows where CI's time goes; AVA's own durations include the wait for the lock).
 */
async function timed(title: string, fn: () => Promise<void> | void): Promise<void> {
  const file = process.env['OVERLAY_TEST_TIMINGS'];
  const start = performance.now();
  try {
    await fn();
  } finally {
    if (file) appendFileSync(file, `${((performance.now() - start) / 1000).toFixed(1)}\t${title}\n`);
  }
}
