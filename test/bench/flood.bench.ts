/**
 * Sealed-junk flood benchmark (issue 10, hole 5): three members a, b, c on a LAN, and a stranger
 * on the same LAN that floods b's port with junk sealed datagrams (test/fixtures/sealed-flood.ts:
 * a third without our mac1, a third with it from random keys, a third claiming to be member a).
 * While it floods, b pings a over the overlay every 100 ms, and 3 s in, a kicks c. Measured:
 * the share of b's pings answered, how long after `overlay kick` returned b holds c's revocation
 * (its roster file, saved within 0.5 s), b's CPU (% of one core)
 * and RSS growth over the flood, and where b's data path and node dropped the junk. The same
 * round without a flood gives the baseline. As root:
 *
 *   npm run bench:flood
 *   npm run bench:flood -- --rate 20000 --seconds 10 --rounds 3
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { NodeStatus } from '../../core/node/status.js';
import { JsonLinesChild } from '../helpers/jsonLines.js';
import { lan, OverlayHost } from '../helpers/lan.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { cpuSeconds, median, requireRoot, rssMb, withTeardowns } from './measure.js';

const { values } = parseArgs({
  options: {
    rate: { type: 'string', default: '20000' },
    seconds: { type: 'string', default: '10' },
    rounds: { type: 'string', default: '3' },
  },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const ROUNDS = Math.max(1, Math.min(10, Number(values.rounds)));
const FLOOD = fileURLToPath(new URL('../fixtures/sealed-flood.js', import.meta.url));

interface Sample {
  pingsPct: number;
  /** From `overlay kick` returning (a holds and sends the revocation) to b holding it. */
  kickLandsMs: number | null;
  /** How long `overlay kick` itself took (a CLI process in a's namespace). */
  kickCommandMs: number;
  cpuPct: number;
  rssGrowthMb: number;
  counters: Record<string, number>;
  sent: number;
}

function pidOf(host: OverlayHost): number {
  return Number(readFileSync(join(host.stateDir, 'overlay.pid'), 'utf8').trim());
}

function holdsRevocation(host: OverlayHost): boolean {
  try {
    const s = JSON.parse(readFileSync(join(host.stateDir, 'roster.json'), 'utf8')) as {
      records: { id: string }[];
    };
    return s.records.some((r) => r.id.startsWith('revoke:'));
  } catch {
    return false;
  }
}

async function round(n: number, flood: boolean): Promise<Sample> {
  return withTeardowns(async (t) => {
    const { hosts } = lan(t as never, `bf${n}${flood ? 'f' : 'q'}`, 4);
    const root = stateRoot(t);
    const [a, b, c] = ['a', 'b', 'c'].map((name, i) => new OverlayHost(hosts[i]!, join(root, name)));
    const attacker = hosts[3]!;
    await a!.ok(['init', '--name', 'a']);
    await a!.ok(['up']);
    for (const [m, name] of [
      [b!, 'b'],
      [c!, 'c'],
    ] as const) {
      const { code } = await a!.json<{ code: string }>(['invite']);
      await m.ok(['join', code, '--name', name]);
      await m.ok(['up']);
    }
    const deadline = Date.now() + 20_000;
    let bs = await b!.json<NodeStatus>(['status']);
    while (!bs.peers.every((p) => p.online) || bs.peers.length < 2) {
      if (Date.now() > deadline) throw new Error('the members did not meet');
      await sleep(200);
      bs = await b!.json<NodeStatus>(['status']);
    }
    const aStatus = await a!.json<NodeStatus>(['status']);
    const bPid = pidOf(b!);
    const rssBefore = rssMb(bPid);
    const cpuBefore = cpuSeconds(bPid);
    const started = Date.now();
    const count = SECONDS * 10;
    const pinging = b!.ns.spawn('ping', [
      '-n',
      '-c',
      String(count),
      '-i',
      '0.1',
      '-W',
      '1',
      aStatus.self.addresses[0]!,
    ]);
    let pingOut = '';
    pinging.stdout!.on('data', (d) => {
      pingOut += d;
    });
    const pinged = new Promise<void>((resolve) => pinging.on('exit', () => resolve()));
    let flooded: Promise<Record<string, unknown>> | undefined;
    if (flood) {
      const f = new JsonLinesChild(
        attacker.spawn(process.execPath, [FLOOD], { stdio: ['pipe', 'pipe', 'inherit'] }),
        'flood',
      );
      f.command({
        to: '192.0.2.2',
        port: bs.self.listenPort,
        receiverKey: bs.self.publicKey,
        memberKey: aStatus.self.publicKey,
        perSecond: RATE,
        seconds: SECONDS,
      });
      flooded = f.waitFor('the flood to end', (e) => e.event === 'flooded', (SECONDS + 20) * 1000);
    }
    await sleep(3_000);
    const kickStarted = Date.now();
    await a!.ok(['kick', 'c']);
    const kickedAt = Date.now();
    const kickCommandMs = kickedAt - kickStarted;
    let kickLandsMs: number | null = null;
    while (Date.now() - kickedAt < 15_000) {
      if (holdsRevocation(b!)) {
        kickLandsMs = Date.now() - kickedAt;
        break;
      }
      await sleep(100);
    }
    await pinged;
    const sent = flooded ? ((await flooded)['sent'] as number) : 0;
    const seconds = (Date.now() - started) / 1000;
    const cpuPct = Math.round(((cpuSeconds(bPid) - cpuBefore) / seconds) * 1000) / 10;
    const rssGrowthMb = rssMb(bPid) - rssBefore;
    const received = Number(/(\d+) received/.exec(pingOut)?.[1] ?? 0);
    const after = await b!.json<NodeStatus>(['status']);
    const keep =
      /^(rxSealedBadMac|rxOverlay|overlayQueueDropped|upQueueDropped|sealedDropped$|rxControl|rxDatagrams)/;
    const counters = Object.fromEntries(Object.entries(after.counters).filter(([k]) => keep.test(k)));
    for (const h of [a!, b!, c!]) await h.run(['down']);
    return {
      pingsPct: (received / count) * 100,
      kickLandsMs,
      kickCommandMs,
      cpuPct,
      rssGrowthMb,
      counters,
      sent,
    };
  });
}

requireRoot('bench:flood');
const results: { flood: Sample[]; quiet: Sample[] } = { flood: [], quiet: [] };
for (let i = 0; i < ROUNDS; i++) {
  for (const flood of [false, true]) {
    const s = await round(i, flood);
    (flood ? results.flood : results.quiet).push(s);
    console.log(
      `round ${i + 1} ${flood ? `flood ${s.sent} datagrams` : 'no flood'}: pings ${s.pingsPct.toFixed(0)}%, kick landed ${s.kickLandsMs ?? 'never'} ms after the command (${s.kickCommandMs} ms), b CPU ${s.cpuPct}%, RSS +${s.rssGrowthMb} MB`,
    );
    if (flood) console.log(`  b's counters: ${JSON.stringify(s.counters)}`);
  }
}
for (const [name, list] of Object.entries(results)) {
  const med = (f: (s: Sample) => number) => median(list.map(f));
  console.log(
    `${name}: median pings ${med((s) => s.pingsPct).toFixed(0)}%, kick ${med((s) => s.kickLandsMs ?? Number.POSITIVE_INFINITY)} ms, b CPU ${med((s) => s.cpuPct)}%, RSS +${med((s) => s.rssGrowthMb)} MB`,
  );
}
