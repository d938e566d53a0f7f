import fs from 'node:fs';
import net from 'node:net';
import { OverlayError } from '../errors.js';
import { errnoOf, requireOwnEntry, symlinkError } from '../store/stateDir.js';
import { ControlError } from './controlError.js';

/** The socket file's surroundings: who may reach it, and what a leftover from a killed node looks like. */

export function trySetUmask(mask: number): number | undefined {
  try {
    return process.umask(mask);
  } catch {
    // Worker threads cannot change the umask; the directory check and chmod still hold.
    return undefined;
  }
}

/**
 * The socket's directory must be ours, not a link, and writable by nobody else: whoever can write
 * it could swap our socket for theirs and read what the CLI sends.
 */
export function checkSocketDir(dir: string): void {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(dir);
  } catch (e) {
    throw new OverlayError('ESTATE_DIR', `cannot use ${dir} for the control socket: ${errnoOf(e) ?? e}`, {
      hint: 'run overlay init, or pass --state-dir with an existing directory',
      cause: e,
    });
  }
  if (st.isSymbolicLink()) throw symlinkError('ESTATE_DIR', `state directory ${dir}`, dir);
  if (!st.isDirectory()) {
    throw new OverlayError('ESTATE_DIR', `${dir} is not a directory`, {
      hint: 'pass --state-dir with a directory path',
    });
  }
  requireOwnEntry('ESTATE_DIR', `state directory ${dir}`, dir, st);
  if ((st.mode & 0o022) !== 0) {
    throw new OverlayError(
      'ESTATE_DIR',
      `state directory ${dir} is writable by other users (mode ${(st.mode & 0o777).toString(8)})`,
      { hint: `chmod 700 ${dir}` },
    );
  }
}

/** Removes a socket file nobody answers on; refuses a live one and anything that is not a socket. */
export async function removeStaleSocket(file: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(file);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return;
    throw new OverlayError('ESTATE_DIR', `cannot inspect ${file}: ${errnoOf(e) ?? e}`, { cause: e });
  }
  if (!st.isSocket()) {
    throw new OverlayError('ESTATE_DIR', `${file} exists and is not a socket`, {
      hint: `move it away; overlay keeps its control socket there`,
    });
  }
  const probe = await probeSocket(file, 1000);
  if (probe === 'stale') {
    try {
      fs.unlinkSync(file);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') throw e;
    }
    return;
  }
  throw new ControlError('EALREADY', `overlay is already running (a node answers on ${file})`, {
    hint: 'stop it first with: overlay down',
  });
}

/** 'live' when something accepts connections on the file (or is too busy to say), else 'stale'. */
function probeSocket(file: string, timeoutMs: number): Promise<'live' | 'stale'> {
  return new Promise((resolve) => {
    const s = net.createConnection(file);
    const done = (verdict: 'live' | 'stale') => {
      clearTimeout(timer);
      s.destroy();
      resolve(verdict);
    };
    const timer = setTimeout(() => done('live'), timeoutMs);
    s.once('connect', () => done('live'));
    s.once('error', (e) => {
      const code = errnoOf(e);
      // EAGAIN: the backlog is full, so a node is there. Refused or gone: nobody listens.
      done(code === 'ECONNREFUSED' || code === 'ENOENT' ? 'stale' : 'live');
    });
  });
}
