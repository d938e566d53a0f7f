import fs from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';
import { OverlayError } from '../errors.js';

/**
 * Where a node keeps its state: --state-dir, else $OVERLAY_HOME, else conf's default for
 * "overlay" (~/.config/overlay for the user running it). Several nodes on one machine each
 * get their own directory.
 */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env['OVERLAY_HOME'] ?? envPaths('overlay', { suffix: '' }).config;
  if (chosen.trim() === '') {
    throw new OverlayError('ESTATE_DIR', 'the state directory path is empty', {
      hint: 'pass --state-dir DIR or set OVERLAY_HOME to a directory path',
    });
  }
  return path.resolve(chosen);
}

/**
 * Makes sure the state directory exists and only its owner can enter it, as ssh does for ~/.ssh:
 * a directory others can read or write would let them read or swap our secrets.
 * Creates it (0700) when missing; refuses an unsafe existing one rather than silently chmod-ing
 * a directory the user chose.
 */
export function ensureStateDir(dir: string): string {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw stateDirError(dir, e);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      // mkdir's mode is filtered by the umask; set it exactly.
      fs.chmodSync(dir, 0o700);
    } catch (e2) {
      throw stateDirError(dir, e2);
    }
    return dir;
  }
  if (!stat.isDirectory()) {
    throw new OverlayError('ESTATE_DIR', `state directory ${dir} is not a directory`, {
      hint: 'pass --state-dir with a directory path',
    });
  }
  if ((stat.mode & 0o077) !== 0) {
    throw new OverlayError(
      'ESTATE_DIR',
      `state directory ${dir} is accessible by other users (mode ${(stat.mode & 0o777).toString(8)})`,
      { hint: `chmod 700 ${dir}` },
    );
  }
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw stateDirError(dir, e);
  }
  return dir;
}

function stateDirError(dir: string, e: unknown): OverlayError {
  const code = errnoOf(e);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new OverlayError('ESTATE_DIR', `cannot write state directory ${dir} (${code})`, {
      hint: 'choose a writable --state-dir, or run with sudo if it belongs to root',
      cause: e,
    });
  }
  if (code === 'ENOTDIR') {
    return new OverlayError('ESTATE_DIR', `state directory ${dir} is under a file, not a directory`, {
      hint: 'pass --state-dir with a directory path',
      cause: e,
    });
  }
  return new OverlayError('ESTATE_DIR', `cannot use state directory ${dir}: ${String(e)}`, { cause: e });
}

export function errnoOf(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string'
    ? e.code
    : undefined;
}
