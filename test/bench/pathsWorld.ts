/**
 * The world of bench:paths (issue 5), for it and for `npm run bench` (issue 12, point 6): an
 * internet of namespaces made here (test/helpers/natWorld.ts), a public member p and four behind
 * NATs, and three pairs timed from `overlay up` to the first reply:
 *   direct       a (behind an endpoint-independent NAT) pings public member p
 *   hole-punched b pings a, each behind its own endpoint-independent NAT
 *   relayed      d pings c, each behind an endpoint-dependent NAT: only p can carry them
 * The peer is already up; the clock starts when the second member's `overlay up` is run. A ping
 * every 10 ms runs from the moment `up` returns; the first reply's timestamp (ping -D) ends it.
 * For the hole-punched pair it also times until status shows the path `direct`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeStatus } from '../../core/node/status.js';
import { OverlayHost } from '../helpers/lan.js';
import { NatWorld } from '../helpers/natWorld.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { cpuSeconds, rssMb, withTeardowns } from './measure.js';

const PING_LIMIT_S = 15;

export interface PathsRoundOptions {
  /** iperf3 TCP over each settled path, 5 s. */
  throughput: boolean;
  /** Each node's CPU and RSS over 10 idle seconds, printed. */
  idle: boolean;
  /** The node logs of pairs slower than slowMs to the first reply, printed. */
  logs: boolean;
  slowMs: number;
}

export type PairSamples = Record<'direct' | 'holePunched' | 'relayed', Sample>;

/** --idle: each node's CPU share (% of one core) and RSS (MB) over 10 s with no traffic, all five up. */
interface IdleSample {
  cpuPct: number[];
  rssMb: number[];
}

async function idle(nodes: OverlayHost[]): Promise<IdleSample> {
  await sleep(5000);
  const pids = nodes.map((n) => Number(readFileSync(join(n.stateDir, 'overlay.pid'), 'utf8').trim()));
  const before = pids.map(cpuSeconds);
  const start = Date.now();
  await sleep(10_000);
  const seconds = (Date.now() - start) / 1000;
  return {
    cpuPct: pids.map((pid, i) => Math.round(((cpuSeconds(pid) - before[i]!) / seconds) * 1000) / 10),
    rssMb: pids.map(rssMb),
  };
}

export interface Sample {
  upMs: number;
  firstReplyMs: number | null;
  directMs?: number | null;
  /** --throughput: iperf3 TCP over the pair's path once it settled, Mbit/s. */
  mbps?: number;
}

/** iperf3 TCP from `from` to `to` (overlay address) for 5 s; Mbit/s received. */
async function iperf(from: OverlayHost, to: OverlayHost, toAddress: string): Promise<number> {
  const server = to.ns.spawn('iperf3', ['-s', '-1', '-B', toAddress], { stdio: 'ignore' });
  await sleep(300);
  try {
    const out = from.ns.exec('iperf3', ['-c', toAddress, '-t', '5', '-J'], 30_000);
    const j = JSON.parse(out) as { end: { sum_received: { bits_per_second: number } } };
    return Math.round(j.end.sum_received.bits_per_second / 1e6);
  } finally {
    server.kill('SIGKILL');
  }
}

/**
 * Runs `overlay up` on `from`, then pings `target` every 10 ms until the first reply; times both
 * from the moment up was started.
 */
async function upToFirstReply(from: OverlayHost, target: string): Promise<Sample> {
  const start = Date.now();
  await from.ok(['up']);
  const upMs = Date.now() - start;
  const pinging = from.ns.spawn('ping', ['-n', '-D', '-i', '0.01', '-w', String(PING_LIMIT_S), target], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  const firstReply = new Promise<number | null>((resolve) => {
    pinging.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /^\[(\d+\.\d+)\] \d+ bytes from/m.exec(output);
      if (m) resolve(Math.round(Number(m[1]) * 1000) - start);
    });
    pinging.on('exit', () => resolve(null));
  });
  const firstReplyMs = await firstReply;
  pinging.kill('SIGINT');
  return { upMs, firstReplyMs };
}

/** From `since`, polls status until `from`'s path to `peer` is direct (every 100 ms, up to 15 s). */
async function directAfter(from: OverlayHost, peer: string, since: number): Promise<number | null> {
  while (Date.now() - since < 15_000) {
    const s = await from.json<NodeStatus>(['status']);
    if (s.peers.find((p) => p.name === peer)?.path === 'direct') return Date.now() - since;
    await sleep(100);
  }
  return null;
}

/** One round: a fresh world of namespaces, five members, the three pairs timed (and measured). */
export async function pathsRound(n: number, options: PathsRoundOptions): Promise<PairSamples> {
  return withTeardowns(async (t) => {
    const w = new NatWorld(t, `bp${n}`);
    const root = stateRoot(t);
    const host = (ns: ReturnType<NatWorld['publicHost']>, name: string) =>
      new OverlayHost(ns, join(root, name));
    const p = host(w.publicHost('p', '203.0.113.10'), 'p');
    const a = host(w.nat('nata', '203.0.113.1').host('a'), 'a');
    const b = host(w.nat('natb', '203.0.113.2').host('b'), 'b');
    const c = host(w.nat('natc', '203.0.113.3', { randomFully: true }).host('c'), 'c');
    const d = host(w.nat('natd', '203.0.113.4', { randomFully: true }).host('d'), 'd');
    await p.ok(['init', '--name', 'p']);
    await p.ok(['up']);
    for (const [m, name] of [
      [a, 'a'],
      [b, 'b'],
      [c, 'c'],
      [d, 'd'],
    ] as const) {
      const { code } = await p.json<{ code: string }>(['invite']);
      await m.ok(['join', code, '--name', name]);
    }
    const pStatus = await p.json<NodeStatus>(['status']);
    const addr = (name: string) => pStatus.peers.find((x) => x.name === name)?.addresses[0];
    const pAddr = pStatus.self.addresses[0]!;
    const direct = await upToFirstReply(a, pAddr);
    const bStart = Date.now();
    const holePunched = await upToFirstReply(b, addr('a')!);
    holePunched.directMs = await directAfter(b, 'a', bStart);
    await c.ok(['up']);
    await sleep(1000);
    const relayed = await upToFirstReply(d, addr('c')!);
    // --logs: what the nodes of a pair slower than --slow MS said, to see where the time went
    if (options.logs) {
      for (const [s, pair] of [
        [direct, [p, a]],
        [holePunched, [a, b]],
        [relayed, [c, d]],
      ] as const) {
        if ((s.firstReplyMs ?? Number.POSITIVE_INFINITY) <= options.slowMs) continue;
        for (const m of pair) console.log(readFileSync(join(m.stateDir, 'overlay.log'), 'utf8'));
      }
    }
    if (options.throughput) {
      await sleep(2000);
      direct.mbps = await iperf(a, p, pAddr);
      holePunched.mbps = await iperf(b, a, addr('a')!);
      relayed.mbps = await iperf(d, c, addr('c')!);
      // Where a relayed stream's packets went: the relay's budget and offloads, the ends' envelopes.
      const counters = async (m: OverlayHost) => (await m.json<NodeStatus>(['status'])).counters;
      const [cp, cd] = await Promise.all([counters(p), counters(d)]);
      const pick = (o: Record<string, number>, keys: string[]) => keys.map((k) => `${k} ${o[k]}`).join(', ');
      console.log(
        `relayed counters: p ${pick(cp, ['relayForwarded', 'relayDroppedRate', 'udpGsoSent', 'udpGsoRefused', 'udpGroReceived'])}; ` +
          `d ${pick(cd, ['relayedOut', 'relayFragmented', 'udpGsoSent', 'udpGsoRefused', 'tunGsoRead'])}`,
      );
    }
    if (options.idle) {
      const i = await idle([p, a, b, c, d]);
      console.log(`idle 10 s, p a b c d: CPU ${i.cpuPct.join(' ')} % of a core; RSS ${i.rssMb.join(' ')} MB`);
    }
    return { direct, holePunched, relayed };
  });
}
