/**
 * Exactly one node per state directory, however many `overlay up` race for it: after a kill -9
 * the dead node's pid file and socket are left behind, and every racer sees them stale at once.
 */
import fs from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { codeOf } from '../../core/control/controlError.js';
import { isProcessAlive, readPidFile } from '../../core/daemon/pidFile.js';
import { stopNode } from '../../core/daemon/stop.js';
import { waitUntil } from '../../core/daemon/wait.js';
import { fakeNodeScript, startFakeNode, tempStateDir } from '../helpers/fakeNode.js';

const RACERS = 6;
const ROUNDS = 5;

/** Fake nodes running for `dir`, found by their command line: what is really alive, not what files say. */
function nodesFor(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let argv: string[];
    try {
      argv = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (argv.includes(fakeNodeScript) && argv.includes(dir) && isProcessAlive(Number(entry)))
      pids.push(Number(entry));
  }
  return pids;
}

const start = (t: ExecutionContext, dir: string) => startFakeNode(t, dir, [], 15_000);

test('after kill -9, racing ups leave exactly one node, named by the pid file; the others say it is already running', async (t) => {
  const dir = tempStateDir(t, 'ovl-race-');
  let node = await start(t, dir);
  for (let round = 0; round < ROUNDS; round++) {
    process.kill(node.pid, 'SIGKILL');
    t.true(await waitUntil(() => !isProcessAlive(node.pid), 5000));
    const results = await Promise.allSettled(Array.from({ length: RACERS }, () => start(t, dir)));
    const won = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
    // Losers may still be exiting: what counts is what is left once they are gone.
    await waitUntil(() => nodesFor(dir).length <= 1, 5000);
    t.deepEqual(
      won.map((w) => w.pid),
      nodesFor(dir),
      `round ${round}: one up succeeds, and it is the one node left`,
    );
    t.is(won.length, 1, `round ${round}: ${lost.map((e) => e.message).join('; ')}`);
    for (const e of lost) {
      t.is(codeOf(e), 'EALREADY', `round ${round}: ${e.message}`);
      t.regex(e.message, /already running/);
    }
    node = won[0]!;
    t.is(readPidFile(dir), node.pid, `round ${round}: the pid file names the node that runs`);
  }
  t.deepEqual(await stopNode(dir, { timeoutMs: 5000 }), { pid: node.pid, how: 'down' });
  t.deepEqual(nodesFor(dir), []);
});
