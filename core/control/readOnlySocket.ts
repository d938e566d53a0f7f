/**
 * Where a node serves its read-only control socket: the socket that lets a user who is not root
 * run `overlay status`, `peers`, `ping` and `whoami` against root's node, as `tailscale status`
 * does (issue 15, point 2). The private socket stays in the state directory (0700, root's); this
 * one lives in /run/overlay (0755, root's) and is 0666, and the node serves on it only methods
 * that read (core/node/controlApi.ts READ_ONLY_METHODS).
 *
 * Each state directory has its own socket there, named by a hash of the directory's path, so
 * several nodes on one machine do not meet and `overlay status --state-dir X` finds X's.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../errors.js';
import { errnoOf, legacyRootStateDir, SYSTEM_STATE_DIR } from '../store/stateDir.js';
import { checkSocketDir } from './socketFile.js';

export const RUN_DIR = '/run/overlay';

/**
 * For tests and packaging only: another directory in place of /run/overlay, so a test suite does
 * not put sockets into the machine's own /run/overlay.
 */
export const RUN_DIR_ENV = 'OVERLAY_RUN_DIR';

export function runDir(env: NodeJS.ProcessEnv = process.env): string {
  const override = env[RUN_DIR_ENV];
  return override === undefined || override === '' ? RUN_DIR : path.resolve(override);
}

/**
 * The read-only socket of the node of `stateDir`. root's node in its pre-/var/lib/overlay
 * directory (legacyRootStateDir) is the machine's default node, and a user names it
 * /var/lib/overlay: it is found under that name.
 */
export function readOnlySocketPath(stateDir: string, env: NodeJS.ProcessEnv = process.env): string {
  const known = path.resolve(stateDir) === legacyRootStateDir() ? SYSTEM_STATE_DIR : path.resolve(stateDir);
  const name = createHash('sha256').update(known).digest('hex').slice(0, 16);
  return path.join(runDir(env), `${name}.sock`);
}

/**
 * Makes the socket's directory when missing (0755: every user may reach the socket, no one but
 * its owner may add or swap one), and checks one that is there like the state directory's.
 */
export function ensureRunDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o755 });
    fs.chmodSync(dir, 0o755);
  } catch (e) {
    if (errnoOf(e) !== 'EEXIST') {
      throw new OverlayError('ESTATE_DIR', `cannot make ${dir}: ${errnoOf(e) ?? String(e)}`, { cause: e });
    }
  }
  checkSocketDir(dir);
}
