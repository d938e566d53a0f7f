/**
 * The data path's counters are declared once, in native/src/datapath/engine_counters.h; the
 * engine's atomics, DataPath.stats() and DataPath.counterNames come from that table in C++, and
 * native/counters.d.ts (the TypeScript type) is made from it by a script. These tests fail when
 * the type is stale or the reader of the table misses an entry. No root: counterNames needs no
 * data path.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { DataPath, type DataPathStats } from 'tun-napi';

const NATIVE = fileURLToPath(new URL('../../../native/', import.meta.url));

/** The names in native/counters.d.ts, in order. */
function typedNames(): string[] {
  const dts = readFileSync(`${NATIVE}counters.d.ts`, 'utf8');
  return [...dts.matchAll(/^ {2}(\w+): number;$/gm)].map((m) => m[1]!);
}

test('native/counters.d.ts is what the table in engine_counters.h makes', (t) => {
  const run = spawnSync(process.execPath, [`${NATIVE}scripts/counters-to-ts.mjs`, '--check'], {
    encoding: 'utf8',
  });
  t.is(run.status, 0, run.stderr);
});

test('the addon reports exactly the counters the TypeScript type declares, in the same order', (t) => {
  const names: readonly (keyof DataPathStats)[] = DataPath.counterNames;
  t.deepEqual([...names], typedNames());
  t.true(Object.isFrozen(DataPath.counterNames));
});

test('every X(...) line of the table becomes one field of the type', (t) => {
  const header = readFileSync(`${NATIVE}src/datapath/engine_counters.h`, 'utf8');
  const table = header.slice(header.indexOf('#define OVERLAY_ENGINE_COUNTERS'));
  const entries = [...table.matchAll(/X\((\w+), (\w+),/g)].map((m) => m[2]!);
  t.true(entries.length >= 40, `only ${entries.length} entries read`);
  t.deepEqual(typedNames(), entries);
  t.is(new Set(entries).size, entries.length, 'no counter name twice');
});
