import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { startDetached } from '../../core/daemon/detached.js';

/** The compiled stand-in for `overlay up --foreground` (test/fixtures/fake-node.ts). */
export const fakeNodeScript = fileURLToPath(new URL('../fixtures/fake-node.js', import.meta.url));

/** A fresh 0700 state directory for one test, removed afterwards. */
export function tempStateDir(t: ExecutionContext, prefix = 'ovl-daemon-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Kills the node's whole process group when the test ends, whatever happened. */
export function killAtEnd(t: ExecutionContext, pid: number): void {
  t.teardown(() => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
}

/** Starts the fake node detached, as `overlay up` would, and makes sure it dies with the test. */
export function startFakeNode(t: ExecutionContext, dir: string, flags: string[] = [], readyTimeoutMs = 8000) {
  return startDetached({
    argv: [process.execPath, fakeNodeScript, '--state-dir', dir, ...flags],
    stateDir: dir,
    readyTimeoutMs,
    onProgress: (p) => {
      if (p.stage === 'spawned') killAtEnd(t, p.pid);
    },
  });
}
