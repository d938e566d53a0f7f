/**
 * Paths benchmark (issue 5): how long after `overlay up` the first reply comes back, for a direct,
 * a hole-punched and a relayed pair, in the world of pathsWorld.ts. Medians of the rounds, as root:
 *
 *   npm run bench:paths
 *   npm run bench:paths -- --rounds 5
 *   npm run bench:paths -- --throughput    # and iperf3 TCP over each settled path, 5 s
 *   npm run bench:paths -- --idle          # and each node's CPU and RSS over 10 idle seconds
 *   npm run bench:paths -- --logs --slow 2000   # the node logs of pairs slower than 2 s
 */

import { parseArgs } from 'node:util';
import { median, requireRoot } from './measure.js';
import { type PairSamples, pathsRound } from './pathsWorld.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    logs: { type: 'boolean', default: false },
    slow: { type: 'string', default: '3000' },
    throughput: { type: 'boolean', default: false },
    idle: { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Math.min(10, Number(values.rounds)));

requireRoot('bench:paths');
const samples: PairSamples[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const r = await pathsRound(i, {
    throughput: values.throughput,
    idle: values.idle,
    logs: values.logs,
    slowMs: Number(values.slow),
  });
  samples.push(r);
  console.log(`round ${i + 1}: ${JSON.stringify(r)}`);
}
const fmt = (xs: (number | null | undefined)[]) => {
  const got = xs.filter((x): x is number => typeof x === 'number');
  return got.length === xs.length
    ? `${median(got)} ms`
    : `${median(got)} ms (${xs.length - got.length} failed)`;
};
console.log('\nmedians over', ROUNDS, 'rounds (clock starts when `overlay up` is run):');
for (const kind of ['direct', 'holePunched', 'relayed'] as const) {
  const s = samples.map((x) => x[kind]);
  console.log(
    `  ${kind.padEnd(12)} up returned ${fmt(s.map((x) => x.upMs))}, first reply ${fmt(s.map((x) => x.firstReplyMs))}` +
      (kind === 'holePunched' ? `, status direct ${fmt(s.map((x) => x.directMs))}` : '') +
      (values.throughput ? `, iperf3 ${median(s.map((x) => x.mbps ?? 0))} Mbit/s` : ''),
  );
}
