/**
 * Exactly one node per state directory, however many `overlay up` race for it: after a kill -9
 * the dead node's pid file and socket are left behind, and every racer sees them stale at once.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { codeOf } from '../../core/control/controlError.js';
import { startDetached } from '../../core/daemon/detached.js';
import { isProcessAlive, readPidFile } from '../../core/daemon/pidFile.js';
import { stopNode } from '../../core/daemon/stop.js';
import { waitUntil } from '../../core/daemon/wait.js';

const fakeNode = fileURLToPath(new URL('../fixtures/fake-node.js', import.meta.url));
const RACERS = 6;
const ROUNDS = 5;

function stateDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-race-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

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
    if (argv.includes(fakeNode) && argv.includes(dir) && isProcessAlive(Number(entry)))
      pids.push(Number(entry));
  }
  return pids;
}

function start(t: ExecutionContext, dir: string) {
  return startDetached({
    argv: [process.execPath, fakeNode, '--state-dir', dir],
    stateDir: dir,
    readyTimeoutMs: 15_000,
    onProgress: (p) => {
      if (p.stage === 'spawned') {
        t.teardown(() => {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        });
      }
    },
  });
}

test('after kill -9, racing ups leave exactly one node, named by the pid file; the others say it is already running', async (t) => {
  const dir = stateDir(t);
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
