/**
 * The detail panel's candidate rows and freshness: "no answer" only for probes that went
 * unanswered; an idle path's endpoint says when it answered, that it was not asked since, and
 * when the member last pinged from it.
 */
import test from 'ava';
import { detailLines } from '../../cli/view/detailLines.js';
import type { ViewStatus } from '../../cli/view/evidence.js';
import { emptyTraffic } from '../../cli/view/traffic.js';
import { statusAt, T0 } from './fixtures.js';

const iso = (ms: number) => new Date(ms).toISOString();

function bravoPanel(candidates: NonNullable<ViewStatus['peers'][number]['candidates']>): string {
  const s = statusAt(0);
  const bravo = {
    ...s.peers.find((p) => p.name === 'bravo')!,
    candidates,
    lossPct: 0,
    measuredAt: iso(T0 - 50_000),
  };
  return detailLines(bravo, { ...s, peers: [bravo] }, emptyTraffic, T0, 150, null)
    .map((l) => l.text)
    .join('\n');
}

test('an idle direct path: answered 50s ago, not asked since, and the member pinged on it 3s ago', (t) => {
  const panel = bravoPanel([
    {
      endpoint: '198.51.100.7:51820',
      kind: 'reflexive',
      result: 'idle',
      rttMs: 2.5,
      at: iso(T0 - 50_000),
      heardAt: iso(T0 - 3_000),
    },
  ]);
  t.regex(
    panel,
    /candidates +198\.51\.100\.7:51820 \(reflexive\) idle: answered 50s ago \(2\.5ms\), not asked since; bravo pinged from it 3s ago/,
  );
  t.regex(
    panel,
    /RTT, loss +12ms; loss 0%; measured 50s ago \(idle: not asked since, bravo pinged on it 3s ago\)/,
  );
  t.regex(panel, /why +no traffic: the path is only kept open/);
  t.notRegex(panel, /no answer/);
});

test('probes that went unanswered say "no answer", and when the endpoint last answered', (t) => {
  const panel = bravoPanel([
    { endpoint: '198.51.100.7:51820', kind: 'reflexive', result: 'ok', rttMs: 12.3, at: iso(T0 - 1_000) },
    { endpoint: '198.18.7.20:51820', kind: 'local', result: 'no answer', rttMs: 0.4, at: iso(T0 - 50_000) },
    { endpoint: '198.18.7.21:51820', kind: 'local', result: 'not tried yet', rttMs: null, at: null },
  ]);
  t.regex(panel, /candidates +198\.51\.100\.7:51820 \(reflexive\) ok 12ms 1s ago$/m);
  t.regex(panel, /^ +198\.18\.7\.20:51820 \(local\) no answer; last answer 50s ago \(0\.4ms\)$/m);
  t.regex(panel, /^ +198\.18\.7\.21:51820 \(local\) not tried yet$/m);
  t.regex(panel, /RTT, loss +12ms; loss 0%; measured 50s ago$/m, 'a busy path: no idle note');
  t.notRegex(panel, /no traffic/);
});
