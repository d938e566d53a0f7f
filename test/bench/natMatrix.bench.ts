/**
 * The NAT matrix (issue 13, "Done when"): every NAT kind of test/helpers/natWorld.ts, alone (with a
 * public member) and in pairs, in one internet of namespaces, and the path each pair ends on against
 * the one issue 13 asks for, with the time to direct each side's status reports (directAfterMs: from
 * the first contact to the direct path). Two members behind routers of each kind, two public
 * members; everyone meets everyone, so the pairs' attempts (birthday probing runs one at a time per
 * node) overlap as they would in a real mesh. As root:
 *
 *   npm run bench:natmatrix
 *   npm run bench:natmatrix -- --settle 240
 *
 * Kinds: port-keeping (MASQUERADE) or per-destination (--random-fully), each with the firewall of
 * cli/demo/natRouter.ts or with none (plain MASQUERADE). Expected: direct, but for two
 * per-destination NATs (no port mapping here: test/portmap.test.ts covers the mapped kinds against
 * miniupnpd, whose routers need a world of their own). Exits 1 when a pair ends elsewhere.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { NodeStatus } from '../../core/node/status.js';
import { oneAtATime } from '../helpers/cpuLock.js';
import { OverlayHost } from '../helpers/lan.js';
import { twoPublicMembers } from '../helpers/natMesh.js';
import { joinVia } from '../helpers/natWorld.js';
import { requireRoot, withTeardowns } from './measure.js';

const { values } = parseArgs({ options: { settle: { type: 'string', default: '200' } } });
const SETTLE_S = Math.max(30, Math.min(900, Number(values.settle)));

interface Kind {
  readonly name: string;
  /** Its members' names start so. */
  readonly short: string;
  readonly randomFully: boolean;
  readonly firewall: boolean;
}

const KINDS: readonly Kind[] = [
  { name: 'keep', short: 'keep', randomFully: false, firewall: true },
  { name: 'keep-nofw', short: 'keepnf', randomFully: false, firewall: false },
  { name: 'perdest', short: 'pd', randomFully: true, firewall: true },
  { name: 'perdest-nofw', short: 'pdnf', randomFully: true, firewall: false },
];

interface Node {
  readonly host: OverlayHost;
  readonly name: string;
  /** undefined: a public member. */
  readonly kind: Kind | undefined;
}

/** Issue 13's table: direct, unless both sides map per destination and neither maps a port. */
function expected(a: Node, b: Node): 'direct' | 'relay' {
  return a.kind?.randomFully && b.kind?.randomFully ? 'relay' : 'direct';
}

async function main(): Promise<number> {
  requireRoot('natMatrix.bench');
  return withTeardowns(async (t) => {
    const { w, root, p, q } = await twoPublicMembers(t, 'mx');
    const nodes: Node[] = [
      { host: p, name: 'p', kind: undefined },
      { host: q, name: 'q', kind: undefined },
    ];
    let wan = 1;
    for (const kind of KINDS) {
      for (const i of [1, 2]) {
        const name = `${kind.short}${i}`;
        const nat = w.nat(`r${wan}`, `203.0.113.${wan++}`, {
          randomFully: kind.randomFully,
          firewall: kind.firewall,
        });
        const host = new OverlayHost(nat.host(name), join(root, name));
        await joinVia(p, host, name);
        nodes.push({ host, name, kind });
      }
    }
    const upAt = Date.now();
    console.log(`${nodes.length} members up; watching for ${SETTLE_S} s`);
    let statuses = new Map<string, NodeStatus>();
    while (Date.now() - upAt < SETTLE_S * 1000) {
      await sleep(10_000);
      statuses = new Map(
        await Promise.all(
          nodes.map(async (n) => [n.name, await n.host.json<NodeStatus>(['status'])] as const),
        ),
      );
      const direct = [...statuses.values()].reduce(
        (k, s) => k + s.peers.filter((x) => x.path === 'direct').length,
        0,
      );
      console.log(`  ${Math.round((Date.now() - upAt) / 1000)} s: ${direct} direct sides`);
    }
    let wrong = 0;
    console.log('\npair                      expected  a->b    b->a    a->b direct after  b->a direct after');
    for (const [i, a] of nodes.entries()) {
      for (const b of nodes.slice(i + 1)) {
        if (a.kind === undefined && b.kind === undefined) continue;
        const ab = statuses.get(a.name)?.peers.find((x) => x.name === b.name);
        const ba = statuses.get(b.name)?.peers.find((x) => x.name === a.name);
        const want = expected(a, b);
        const ok = ab?.path === want && ba?.path === want;
        if (!ok) wrong++;
        const ms = (x: typeof ab) => (x?.directAfterMs == null ? '-' : `${x.directAfterMs} ms`);
        console.log(
          `${`${a.name}-${b.name}`.padEnd(26)}${want.padEnd(10)}${String(ab?.path).padEnd(8)}${String(ba?.path).padEnd(8)}${ms(ab).padEnd(19)}${ms(ba)}${ok ? '' : '   <- not as expected'}`,
        );
      }
    }
    const counters = (n: string) => statuses.get(n)?.counters ?? {};
    for (const n of nodes) {
      const c = counters(n.name);
      console.log(
        `${n.name}: NAT ${JSON.stringify(statuses.get(n.name)?.self.nat)}; birthday attempts ${c['discovery.birthdayAttempts']}, direct ${c['discovery.birthdayDirect']}, probes ${c['discovery.birthdayProbes']}`,
      );
      // Where each member with a direct path sees it: the ports its NAT gave it toward each.
      const seenAt = nodes
        .map((o) => [o.name, statuses.get(o.name)?.peers.find((x) => x.name === n.name)] as const)
        .filter(([, x]) => x?.path === 'direct')
        .map(([o, x]) => `${o} ${x?.endpoint}`);
      console.log(`  seen at: ${seenAt.join(', ')}`);
    }
    console.log(`\n${wrong} pair(s) not as expected`);
    return wrong === 0 ? 0 : 1;
  });
}

process.exitCode = await oneAtATime(main);
