/**
 * Scale benchmark (issue 11): N whole OverlayNodes in one process, without root, on the memory
 * twins of the TUN device and data path over a simulated internet (test/twins/nodeWorld.ts). A
 * founder on a public address invites every other node in turn; each joins with its code and
 * starts. Seconds are the nodes' clock: simulated with `--clock sim` (the default: the process
 * never falls behind its timers, whatever N), the machine's own with `--clock real`. Measured for
 * each N:
 *   join      seconds for all N-1 joins (one after another, as people would)
 *   converge  seconds from the last join until every node holds every other as a peer
 *   setup CPU the CPU the process spent on all joins and the convergence, per node (s)
 *   at rest   over a window starting `--settle` seconds after convergence: datagrams and bytes
 *             each node sends per second, and the CPU the whole process spends per node (ms of
 *             real CPU per second of the nodes' clock)
 *   memory    heap and external memory per node (after a GC), less the process without nodes;
 *             and the process's resident set per node
 * The simulated network's own work is in the CPU figures, as it is in the process. As a ratio
 * against the smallest N, each figure says how it grows with N. No root needed:
 *
 *   npm run bench:scale
 *   npm run bench:scale -- --nodes 200 --rest 300 --settle 120 --clock sim
 *
 * Run one N per process for the memory figures: a process keeps the pages a larger N used.
 */
import { parseArgs } from 'node:util';
import { NodeWorld, type TwinNode } from '../twins/nodeWorld.js';
import type { ClockKind } from '../twins/scenarioClock.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50,200' },
    // At rest is what a settled network does for ever: the window spans one whole round of its
    // slowest timers (an idle path's alternatives probed and introductions asked every 5 minutes,
    // core/discovery/constants.ts), so it holds their share; 20 s windows missed them.
    rest: { type: 'string', default: '300' },
    // Gossip rounds slow down 30 s after the last record moved (rosterGossip.ts), a path falls idle
    // 10 s after its last packet (paths.ts), and the relay routes probed while the network formed
    // that never answered (at N = 20, 906 of 1140) are replaced and probed again together once they
    // are 60 s stale (STALE_CANDIDATE_MS): a one-off wave 60-90 s after convergence, 7x what a node
    // sends at rest at N = 200. Rest starts after it.
    settle: { type: 'string', default: '120' },
    clock: { type: 'string', default: 'sim' },
  },
});
const SIZES = values.nodes.split(',').map((n) => Math.max(2, Math.min(2000, Number(n))));
const REST_S = Math.max(5, Math.min(900, Number(values.rest)));
/** The rest window is reported in slices of this many seconds too (stderr), to show it is steady. */
const SLICE_S = 30;
const SETTLE_S = Math.max(0, Math.min(600, Number(values.settle)));
if (values.clock !== 'sim' && values.clock !== 'real') throw new Error('--clock is sim or real');
const CLOCK: ClockKind = values.clock;

interface Row {
  n: number;
  joinS: number;
  convergeS: number;
  datagramsPerNodeS: number;
  bytesPerNodeS: number;
  cpuMsPerNodeS: number;
  setupCpuSPerNode: number;
  memoryMbPerNode: number;
  rssMbPerNode: number;
  /** Real seconds the whole run of this N took (joins, convergence, settling, the window). */
  wallS: number;
  /** Datagrams per node per second at rest, by kind. */
  byKind: Record<string, number>;
}

/** What a datagram on the simulated wire is, by its first byte. */
function kindOf(bytes: Uint8Array): string {
  const t = bytes[0];
  if (t === 4) return 'transport';
  if (t !== undefined && t >= 1 && t <= 3) return 'handshake';
  if (t === 0x80) return 'sealed';
  if (t === 0x84) return 'envelope';
  return 'other';
}

function gc(): void {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (!collect) throw new Error('run with --expose-gc (npm run bench:scale does)');
  collect();
  collect();
}

function memoryMb(): { heap: number; rss: number } {
  gc();
  const m = process.memoryUsage();
  return { heap: (m.heapUsed + m.external + m.arrayBuffers) / 2 ** 20, rss: m.rss / 2 ** 20 };
}

/** CPU seconds the process spent since `since` (a process.cpuUsage() reading). */
function cpuSeconds(since: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
}

/** Whether every node holds every other as a peer. */
function converged(nodes: readonly TwinNode[]): boolean {
  return nodes.every((n) => n.node.peers.size === nodes.length - 1);
}

/** One publicly addressed machine per node, in 198.18.0.0/15. */
function address(i: number): string {
  return `198.18.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

async function measure(n: number): Promise<Row> {
  const teardowns: (() => void)[] = [];
  const baseline = memoryMb();
  // process.hrtime is the machine's clock even when the nodes' clock is simulated.
  const wall0 = process.hrtime.bigint();
  try {
    const world = new NodeWorld(
      { title: `scale ${n}`, teardown: (f) => teardowns.push(f) },
      { clock: CLOCK },
    );
    const founder = world.found('n0', world.machine('n0', address(0)));
    const joinStart = world.clock.elapsed();
    const setupCpu0 = process.cpuUsage();
    for (let i = 1; i < n; i++) {
      await world.join(`n${i}`, world.machine(`n${i}`, address(i)), founder);
      // A large N runs for minutes: say where it is (stderr, so the table stays clean).
      if (i % 50 === 0) console.error(`N=${n}: ${i} joined, ${cpuSeconds(setupCpu0).toFixed(0)} s of CPU`);
    }
    const joinS = (world.clock.elapsed() - joinStart) / 1000;
    const convergeMs = await world.until(`${n} nodes to know each other`, 60_000 + n * 300, () =>
      converged(world.nodes),
    );
    const setupCpuS = cpuSeconds(setupCpu0);
    // At rest: what keeps a converged network alive (gossip digests, path keepalives, probes),
    // once the first handshakes and path searches after the joins are over.
    await world.sleep(SETTLE_S * 1000);
    const kinds = new Map<string, number>();
    const send = world.net.send.bind(world.net);
    world.net.send = (host, dest, bytes) => {
      kinds.set(kindOf(bytes), (kinds.get(kindOf(bytes)) ?? 0) + 1);
      return send(host, dest, bytes);
    };
    const sent0 = world.net.delivered;
    const bytes0 = world.net.deliveredBytes;
    const cpu0 = process.cpuUsage();
    const t0 = world.clock.elapsed();
    for (let done = 0; done < REST_S; done += SLICE_S) {
      const slice = Math.min(SLICE_S, REST_S - done);
      const sliceSent = world.net.delivered;
      const sliceKinds = new Map(kinds);
      const sliceCpu = process.cpuUsage();
      await world.sleep(slice * 1000);
      const cpuMs = cpuSeconds(sliceCpu) * 1000;
      const byKind = [...kinds].map(
        ([k, v]) => `${k} ${((v - (sliceKinds.get(k) ?? 0)) / n / slice).toFixed(2)}`,
      );
      console.error(
        `N=${n}: rest ${done}-${done + slice} s: ${((world.net.delivered - sliceSent) / n / slice).toFixed(2)} datagrams/node/s ` +
          `(${byKind.join(', ')}), ${(cpuMs / n / slice).toFixed(2)} ms CPU/node/s`,
      );
    }
    const seconds = (world.clock.elapsed() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const perNodeS = (x: number) => x / n / seconds;
    const memory = memoryMb();
    return {
      n,
      joinS,
      convergeS: convergeMs / 1000,
      datagramsPerNodeS: perNodeS(world.net.delivered - sent0),
      bytesPerNodeS: perNodeS(world.net.deliveredBytes - bytes0),
      cpuMsPerNodeS: perNodeS((cpu.user + cpu.system) / 1000),
      setupCpuSPerNode: setupCpuS / n,
      memoryMbPerNode: (memory.heap - baseline.heap) / n,
      rssMbPerNode: (memory.rss - baseline.rss) / n,
      wallS: Number(process.hrtime.bigint() - wall0) / 1e9,
      byKind: Object.fromEntries([...kinds].map(([k, v]) => [k, Math.round(perNodeS(v) * 10) / 10])),
    };
  } finally {
    for (const f of teardowns.reverse()) f();
  }
}

const rows: Row[] = [];
for (const n of SIZES) {
  const row = await measure(n);
  rows.push(row);
  console.log(
    `N=${n}: joins ${row.joinS.toFixed(1)} s, converged ${row.convergeS.toFixed(1)} s after the last join ` +
      `(${row.setupCpuSPerNode.toFixed(2)} s of CPU per node); ` +
      `at rest per node ${row.datagramsPerNodeS.toFixed(1)} datagrams/s, ${(row.bytesPerNodeS / 1024).toFixed(2)} KiB/s, ` +
      `${row.cpuMsPerNodeS.toFixed(2)} ms CPU/s (sent by kind: ${JSON.stringify(row.byKind)}); ` +
      `${row.memoryMbPerNode.toFixed(2)} MB heap/node, ${row.rssMbPerNode.toFixed(2)} MB RSS/node; ${row.wallS.toFixed(0)} s of wall time`,
  );
}

const first = rows[0]!;
const ratio = (r: Row, f: (x: Row) => number) => (f(first) > 0 ? (f(r) / f(first)).toFixed(1) : '-');
console.log(`\nclock: ${CLOCK}`);
console.log(
  '| N | joins s | converge s | setup CPU s/node | datagrams/node/s | bytes/node/s | CPU ms/node/s | heap MB/node | RSS MB/node | wall s |',
);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.n} | ${r.joinS.toFixed(1)} | ${r.convergeS.toFixed(1)} | ${r.setupCpuSPerNode.toFixed(2)} | ${r.datagramsPerNodeS.toFixed(1)} | ${Math.round(r.bytesPerNodeS)} | ${r.cpuMsPerNodeS.toFixed(2)} | ${r.memoryMbPerNode.toFixed(2)} | ${r.rssMbPerNode.toFixed(2)} | ${r.wallS.toFixed(0)} |`,
  );
}
if (rows.length > 1) {
  const last = rows.at(-1)!;
  console.log(
    `\nfrom N=${first.n} to N=${last.n} (x${(last.n / first.n).toFixed(0)}): per node, datagrams x${ratio(last, (r) => r.datagramsPerNodeS)}, bytes x${ratio(last, (r) => r.bytesPerNodeS)}, CPU x${ratio(last, (r) => r.cpuMsPerNodeS)}, setup CPU x${ratio(last, (r) => r.setupCpuSPerNode)}, memory x${ratio(last, (r) => r.memoryMbPerNode)}; joins x${ratio(last, (r) => r.joinS)}, converge x${ratio(last, (r) => r.convergeS)}`,
  );
}
