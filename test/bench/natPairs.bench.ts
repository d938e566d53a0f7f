/**
 * Issue 13, point 1: pairs of members behind NATs with and without a firewall, in a fresh internet
 * of namespaces per round (test/helpers/natWorld.ts). Public member p is up; a behind the first
 * NAT joins and comes up, then b behind the second; the clock starts when b's `overlay up` returns
 * and stops when each sees the other `direct` (status polled every 100 ms, up to 15 s). Both
 * members listen on 51820, as two default installs do.
 *
 *   node dist/test/bench/natPairs.bench.js [--rounds N] [--kinds nofw+nofw,fw+nofw,...]
 *
 * Prints, per kind, direct within 5 s out of the rounds, the median and worst time to direct, and
 * each NAT's public port for its member as the other saw it (51820 when no tuple was taken).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { NodeStatus } from '../../core/node/status.js';
import { oneAtATime } from '../helpers/cpuLock.js';
import { OverlayHost } from '../helpers/lan.js';
import { joinVia, NatWorld } from '../helpers/natWorld.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { requireRoot, withTeardowns } from './measure.js';

const KINDS = { 'nofw+nofw': [false, false], 'fw+nofw': [true, false], 'fw+fw': [true, true] } as const;
type Kind = keyof typeof KINDS;
const WITHIN_MS = 5_000;
const LIMIT_MS = 15_000;

interface Round {
  /** Until both see each other direct, ms after b's `up`; null when not within LIMIT_MS. */
  directMs: number | null;
  /** The endpoints each saw the other at, when direct. */
  endpoints: string[];
}

async function directEndpoint(from: OverlayHost, peer: string, since: number): Promise<string | null> {
  while (Date.now() - since < LIMIT_MS) {
    const p = (await from.json<NodeStatus>(['status'])).peers.find((x) => x.name === peer);
    if (p?.path === 'direct' && p.endpoint) return p.endpoint;
    await sleep(100);
  }
  return null;
}

async function round(kind: Kind, n: number): Promise<Round> {
  const [fwA, fwB] = KINDS[kind];
  return withTeardowns(async (t) => {
    const w = new NatWorld(t, `np${n}`);
    const root = stateRoot(t);
    const p = new OverlayHost(w.publicHost('p', '203.0.113.10'), join(root, 'p'));
    await p.ok(['init', '--name', 'p']);
    await p.ok(['up']);
    const natA = w.nat('nata', '203.0.113.1', { firewall: fwA });
    const natB = w.nat('natb', '203.0.113.2', { firewall: fwB });
    const a = new OverlayHost(natA.host('a'), join(root, 'a'));
    const b = new OverlayHost(natB.host('b'), join(root, 'b'));
    await joinVia(p, a, 'a');
    await joinVia(p, b, 'b');
    const since = Date.now();
    const [ab, ba] = await Promise.all([directEndpoint(a, 'b', since), directEndpoint(b, 'a', since)]);
    const done = Date.now() - since;
    // Not direct: what the two nodes said of each other, to see why.
    if (!(ab && ba))
      for (const m of [a, b]) {
        const log = readFileSync(join(m.stateDir, 'overlay.log'), 'utf8').split('\n');
        console.log(log.filter((l) => / to (a|b)\b|path/.test(l)).join('\n'));
        console.log(JSON.stringify((await m.json<NodeStatus>(['status'])).peers));
      }
    // ...and the NATs' UDP connections on the members' port.
    if (!(ab && ba))
      for (const nat of [natA, natB])
        console.log(
          nat.router
            .exec('cat', ['/proc/net/nf_conntrack'])
            .split('\n')
            .filter((l) => / udp /.test(l) && /51820/.test(l))
            .join('\n'),
        );
    return { directMs: ab && ba ? done : null, endpoints: [ab ?? '-', ba ?? '-'] };
  });
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  requireRoot('natPairs');
  const rounds = Number(arg('--rounds') ?? 10);
  const kinds = (arg('--kinds')?.split(',') ?? Object.keys(KINDS)) as Kind[];
  for (const kind of kinds) {
    if (!(kind in KINDS)) throw new Error(`unknown kind ${kind}: ${Object.keys(KINDS).join(', ')}`);
    // One kind's rounds hold the machine's lock together: others' tests wait minutes, not rounds.
    const results = await oneAtATime(async () => {
      const out: Round[] = [];
      for (let i = 0; i < rounds; i++) {
        const r = await round(kind, i);
        out.push(r);
        console.log(
          `${kind} round ${i + 1}: ${r.directMs === null ? 'not direct' : `${r.directMs} ms`} (${r.endpoints.join(' / ')})`,
        );
      }
      return out;
    });
    const times = results.map((r) => r.directMs ?? Number.POSITIVE_INFINITY).sort((x, y) => x - y);
    const ok = times.filter((x) => x <= WITHIN_MS).length;
    const median = times[times.length >> 1]!;
    console.log(
      `${kind}: direct within ${WITHIN_MS / 1000} s in ${ok} of ${rounds}; median ${median} ms, worst ${times.at(-1)} ms`,
    );
  }
}

await main();
