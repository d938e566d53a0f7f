/**
 * Idle benchmark (issue 12, point 5): what a settled member costs when nothing happens. N members
 * on one LAN of namespaces (test/helpers/overlayNetwork.ts), every one started with `overlay up`
 * as a user would; once every member holds every other and each has a path to each, nobody is
 * asked anything for `--quiet` seconds (not even `status`, which would wake the nodes), then each
 * node's CPU ticks (/proc/PID/stat, utime + stime of all its threads) and context switches (how
 * often its threads woke) are read across a `--window` of seconds. Per N it prints the median and
 * the highest node: CPU as % of one core, wake-ups per second, RSS; and, summed over the nodes,
 * which threads the CPU and the wake-ups went to (the JavaScript thread is the one whose tid is
 * the pid; the data path's send and receive threads are named ovl-send and ovl-recv). As root:
 *
 *   npm run bench:idle
 *   npm run bench:idle -- --members 4,12 --quiet 60 --window 60
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { OverlayHost } from '../helpers/lan.js';
import { everyoneKnowsEveryone, network, status } from '../helpers/overlayNetwork.js';
import { median, requireRoot, rssMb, type ThreadSample, threadSamples, withTeardowns } from './measure.js';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '4,12' },
    quiet: { type: 'string', default: '60' },
    window: { type: 'string', default: '60' },
  },
});
const SIZES = values.members.split(',').map((n) => Math.max(2, Math.min(40, Number(n))));
const QUIET_S = Math.max(0, Math.min(600, Number(values.quiet)));
const WINDOW_S = Math.max(5, Math.min(600, Number(values.window)));
/** Every member a path to every other, at most this long after they all know each other. */
const PATHS_WITHIN_MS = 60_000;

interface NodeFigures {
  cpuPct: number;
  wakeupsPerS: number;
  rssMb: number;
  /** CPU seconds and context switches over the window, per thread kind. */
  threads: Map<string, { cpuSeconds: number; switches: number }>;
}

const pidOf = (n: OverlayHost) => Number(readFileSync(join(n.stateDir, 'overlay.pid'), 'utf8').trim());

/** A thread's kind: the JavaScript thread by its tid, the rest by name. */
function kindOf(pid: number, t: ThreadSample): string {
  return t.tid === pid ? 'javascript' : t.name;
}

/** Polls status (every 500 ms) until every member lists a path to every other. */
async function pathsSettled(nodes: OverlayHost[]): Promise<void> {
  const deadline = Date.now() + PATHS_WITHIN_MS;
  let missing = '';
  while (Date.now() < deadline) {
    const all = await Promise.all(nodes.map(status));
    const without = all.flatMap((s) =>
      s.peers.filter((p) => p.path === null).map((p) => `${s.self.name}->${p.name}`),
    );
    if (without.length === 0) return;
    missing = without.join(' ');
    await sleep(500);
  }
  throw new Error(`paths did not settle in ${PATHS_WITHIN_MS} ms: ${missing}`);
}

function figures(pid: number, before: ThreadSample[], after: ThreadSample[], seconds: number): NodeFigures {
  const threads = new Map<string, { cpuSeconds: number; switches: number }>();
  const earlier = new Map(before.map((t) => [t.tid, t]));
  let cpu = 0;
  let switches = 0;
  for (const t of after) {
    const b = earlier.get(t.tid);
    const dCpu = t.cpuSeconds - (b?.cpuSeconds ?? 0);
    const dSwitches = t.switches - (b?.switches ?? 0);
    cpu += dCpu;
    switches += dSwitches;
    const kind = kindOf(pid, t);
    const k = threads.get(kind) ?? { cpuSeconds: 0, switches: 0 };
    k.cpuSeconds += dCpu;
    k.switches += dSwitches;
    threads.set(kind, k);
  }
  return { cpuPct: (cpu / seconds) * 100, wakeupsPerS: switches / seconds, rssMb: rssMb(pid), threads };
}

async function measureIdle(n: number): Promise<NodeFigures[]> {
  return withTeardowns(async (t) => {
    const names = Array.from({ length: n }, (_, i) => `m${i}`);
    const nodes = await network(t, `id${n}`, names);
    await everyoneKnowsEveryone(nodes, 120_000);
    await pathsSettled(nodes);
    console.error(`${n} members settled; ${QUIET_S} s of quiet, then a ${WINDOW_S} s window`);
    await sleep(QUIET_S * 1000);
    const pids = nodes.map(pidOf);
    const before = pids.map(threadSamples);
    const start = performance.now();
    await sleep(WINDOW_S * 1000);
    const after = pids.map(threadSamples);
    const seconds = (performance.now() - start) / 1000;
    return pids.map((pid, i) => figures(pid, before[i]!, after[i]!, seconds));
  });
}

function load(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

requireRoot('bench:idle');
const round = (x: number, digits: number) => Number(x.toFixed(digits));
const rows: string[] = [];
for (const n of SIZES) {
  const loadBefore = load();
  const nodes = await measureIdle(n);
  const cpu = nodes.map((x) => x.cpuPct);
  const wakeups = nodes.map((x) => x.wakeupsPerS);
  const rss = nodes.map((x) => x.rssMb);
  const byThread = new Map<string, { cpuSeconds: number; switches: number }>();
  for (const node of nodes) {
    for (const [kind, v] of node.threads) {
      const k = byThread.get(kind) ?? { cpuSeconds: 0, switches: 0 };
      k.cpuSeconds += v.cpuSeconds;
      k.switches += v.switches;
      byThread.set(kind, k);
    }
  }
  const threads = [...byThread]
    .filter(([, v]) => v.cpuSeconds > 0 || v.switches > 0)
    .sort((a, b) => b[1].cpuSeconds - a[1].cpuSeconds || b[1].switches - a[1].switches)
    .map(
      ([kind, v]) =>
        `${kind} ${round(v.cpuSeconds, 2)} s/${round(v.switches / WINDOW_S / n, 1)} wakeups/s/node`,
    )
    .join(', ');
  const row =
    `${String(n).padStart(3)} members: CPU ${round(median(cpu), 2)}% of a core per node (max ${round(Math.max(...cpu), 2)}), ` +
    `wake-ups ${round(median(wakeups), 1)}/s (max ${round(Math.max(...wakeups), 1)}), ` +
    `RSS ${median(rss)} MB (max ${Math.max(...rss)}); load ${loadBefore} -> ${load()}`;
  console.log(row);
  console.log(`     per node: CPU ${cpu.map((x) => round(x, 2)).join(' ')}`);
  console.log(`     threads (all nodes, ${WINDOW_S} s): ${threads}`);
  rows.push(row);
}
console.log(`\nidle after ${QUIET_S} s of quiet, over ${WINDOW_S} s:`);
for (const r of rows) console.log(r);
