import fs from 'node:fs';
import path from 'node:path';
import envPaths from 'env-paths';
import { OverlayError } from '../errors.js';

/**
 * The machine's node keeps its state here when neither --state-dir nor $OVERLAY_HOME names a
 * directory, whoever runs the command: the node runs as root (it makes the interface), so a user's
 * `overlay init` and the `sudo overlay up` after it must land in the same place (issue 15).
 */
export const SYSTEM_STATE_DIR = '/var/lib/overlay';

/** network.json marks a directory that holds a network (core/node/nodeState.ts). */
const NETWORK_FILE = 'network.json';

/**
 * Where a node keeps its state: --state-dir, else $OVERLAY_HOME, else the machine's default
 * (defaultStateDir). Several nodes on one machine each get their own directory.
 */
export function resolveStateDir(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env['OVERLAY_HOME'] ?? defaultStateDir();
  if (chosen.trim() === '') {
    throw new OverlayError('ESTATE_DIR', 'the state directory path is empty', {
      hint: 'pass --state-dir DIR or set OVERLAY_HOME to a directory path',
    });
  }
  return path.resolve(chosen);
}

/**
 * /var/lib/overlay; for root, its default before that (~/.config/overlay, i.e.
 * /root/.config/overlay) while that holds a network and /var/lib/overlay does not, so a node
 * made by an older overlay keeps its identity and network after the upgrade.
 */
export function defaultStateDir(): string {
  return effectiveUid() === 0 ? (legacyRootStateDir() ?? SYSTEM_STATE_DIR) : SYSTEM_STATE_DIR;
}

/** root's old default when it is still the one in use (see defaultStateDir), else undefined. */
export function legacyRootStateDir(): string | undefined {
  if (effectiveUid() !== 0) return undefined;
  const old = path.resolve(envPaths('overlay', { suffix: '' }).config);
  if (old === SYSTEM_STATE_DIR || holdsNetwork(SYSTEM_STATE_DIR) || !holdsNetwork(old)) return undefined;
  return old;
}

function holdsNetwork(dir: string): boolean {
  try {
    return fs.lstatSync(path.join(dir, NETWORK_FILE)).isFile();
  } catch {
    return false;
  }
}

/**
 * Makes sure the state directory exists and only its owner can enter it, as ssh does for ~/.ssh:
 * a directory others can read or write would let them read or swap our secrets, and one that
 * belongs to someone else is theirs to read and swap whatever its mode says.
 * Creates it (0700) when missing; refuses an unsafe existing one rather than silently chmod-ing
 * a directory the user chose. Never follows a symbolic link in its place.
 */
export function ensureStateDir(dir: string): string {
  if (checkStateDir(dir) === 'missing') {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      // mkdir's mode is filtered by the umask; set it exactly.
      fs.chmodSync(dir, 0o700);
    } catch (e) {
      throw stateDirError(dir, e);
    }
    // Whatever now stands there (ours, or something raced into place) passes the same checks.
    if (checkStateDir(dir) === 'missing')
      throw new OverlayError('ESTATE_DIR', `state directory ${dir} vanished`);
  }
  return dir;
}

/**
 * The checks of ensureStateDir without creating anything: 'missing' when nothing is there;
 * throws ESTATE_DIR for a link, a non-directory, another owner, a mode others may use, or a
 * directory we cannot write.
 */
export function checkStateDir(dir: string): 'ok' | 'missing' {
  let stat: fs.Stats;
  try {
    stat = fs.lstatSync(dir);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return 'missing';
    throw stateDirError(dir, e);
  }
  if (stat.isSymbolicLink()) throw symlinkError('ESTATE_DIR', `state directory ${dir}`, dir);
  if (!stat.isDirectory()) {
    throw new OverlayError('ESTATE_DIR', `state directory ${dir} is not a directory`, {
      hint: 'pass --state-dir with a directory path',
    });
  }
  requireOwnEntry('ESTATE_DIR', `state directory ${dir}`, dir, stat);
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
  return 'ok';
}

/** The effective uid overlay runs as; undefined where there is none (not POSIX). */
export function effectiveUid(): number | undefined {
  return process.geteuid?.();
}

/**
 * Refuses an entry of the state directory (found with lstat) that belongs to another user: they
 * could read it, or replace it with something of theirs. `what` names it in the message.
 */
export function requireOwnEntry(
  code: 'ESTATE_DIR' | 'ESTORE_PERMS',
  what: string,
  file: string,
  stat: fs.Stats,
): void {
  const uid = effectiveUid();
  if (uid === undefined || stat.uid === uid) return;
  throw new OverlayError(code, `${what} belongs to uid ${stat.uid}, not to you (uid ${uid})`, {
    hint: `use a state directory of your own, or take it over only if you trust it: chown -R ${uid} ${file}`,
  });
}

/** A symbolic link where overlay keeps its state: it would send our secrets wherever it points. */
export function symlinkError(code: 'ESTATE_DIR' | 'ESTORE_PERMS', what: string, file: string): OverlayError {
  let target = '';
  try {
    target = fs.realpathSync(file);
  } catch {
    // a dangling link: there is no real path to suggest
  }
  return new OverlayError(
    code,
    `${what} is a symbolic link; overlay does not follow links where it keeps secrets`,
    {
      hint: target ? `use ${target} itself, not a link to it` : `remove the dangling link ${file}`,
    },
  );
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
