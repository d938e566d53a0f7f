/**
 * What `overlay status` and its live view say of an idle direct path, on the simulated clock:
 * whole nodes, the real status and the real panel. An idle path is pinged every 20-25 s, by
 * whichever end's timer runs first, so its last answer to us can be a minute old while the path
 * works: the panel once said "no answer ... 50s ago" of it. It must say idle, and that the peer's
 * pings arrive on it.
 */
import test from 'ava';
import { detailLines } from '../../cli/view/detailLines.js';
import { emptyTraffic } from '../../cli/view/traffic.js';
import { IDLE_HEARTBEAT_MS } from '../../core/discovery/index.js';
import { nodeStatus } from '../../core/node/status.js';
import { direct, NodeWorld } from './nodeWorld.js';

test.serial(
  'an idle direct path is shown idle with its last answer and the peer’s last ping, never "no answer"',
  async (t) => {
    const w = new NodeWorld(t);
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const b = await w.join('b', w.machine('b', '198.51.100.2'), a);
    await w.until('a and b direct', 15_000, () => direct(a, b) && direct(b, a));
    await w.packetArrives(a, b, 5_000);
    await w.sleep(30_000);
    const seen = { idle: 0, unanswered: [] as string[], heardOrAnsweredMs: 0 };
    for (let i = 0; i < 120; i++) {
      await w.sleep(1_000);
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const status = nodeStatus(from.node);
        const peer = status.peers.find((p) => p.name === to.name)!;
        t.is(peer.path, 'direct');
        const inUse = peer.candidates?.find((c) => c.endpoint === peer.endpoint);
        t.truthy(inUse, `${from.name} reports the candidate its path to ${to.name} runs on`);
        const panel = detailLines(peer, status, emptyTraffic, Date.now(), 200, null)
          .map((l) => l.text)
          .join('\n');
        if (/no answer/.test(panel)) unansweredAt(seen, from.name, i, panel);
        if (inUse?.result === 'idle') {
          seen.idle++;
          t.regex(panel, /idle: answered \d+[sm] ago \([\d.]+ms\), not asked since/);
          t.regex(panel, /RTT, loss .*measured \d+[sm] ago \(idle: not asked since/);
        }
        const ages = [inUse?.at, inUse?.heardAt]
          .filter((x): x is string => !!x)
          .map((x) => Date.now() - Date.parse(x));
        seen.heardOrAnsweredMs = Math.max(seen.heardOrAnsweredMs, Math.min(...ages));
      }
    }
    t.log(
      `of 240 panels: ${seen.idle} idle; the path's last word either way at most ${seen.heardOrAnsweredMs} ms old`,
    );
    t.deepEqual(seen.unanswered, [], 'no panel says "no answer" of a working path');
    t.true(seen.idle > 0, 'the evidence went stale at times, and was shown as idle');
    t.true(
      seen.heardOrAnsweredMs <= IDLE_HEARTBEAT_MS + 1_000,
      'a ping or an answer on the path each keepalive period',
    );
  },
);

function unansweredAt(seen: { unanswered: string[] }, name: string, second: number, panel: string): void {
  if (seen.unanswered.length < 3) seen.unanswered.push(`${name} at +${second}s:\n${panel}`);
}
