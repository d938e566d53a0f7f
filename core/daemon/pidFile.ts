import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../errors.js';
import { errnoOf, symlinkError } from '../store/stateDir.js';

/**
 * `<stateDir>/overlay.pid`: the running node's process id, one number and a newline, so that
 * `kill $(cat overlay.pid)` works. Only the holder of the node lock (nodeLock.ts) writes or removes
 * it; whether a node runs is the lock's to say, not this file's (kill -9 leaves it behind).
 */
export const PID_FILE_NAME = 'overlay.pid';

export function pidFilePath(stateDir: string): string {
  return path.join(stateDir, PID_FILE_NAME);
}

/** The pid the file names, or undefined when there is no file or it does not hold a pid. */
export function readPidFile(stateDir: string): number | undefined {
  const file = pidFilePath(stateDir);
  let text: string;
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    if (errnoOf(e) === 'ELOOP') throw symlinkError('ESTATE_DIR', file, file);
    throw new OverlayError('ESTATE_DIR', `cannot read ${file}: ${errnoOf(e) ?? e}`, { cause: e });
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : Number.NaN;
  // Never 1: whatever wrote that, signalling init is not how to stop a node.
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * Writes the pid file atomically (a finished temp file renamed over it: readers see the old file
 * or the new one, and a link in its place is replaced, not followed). Call only holding the lock.
 */
export function writePidFile(stateDir: string, pid: number): void {
  const file = pidFilePath(stateDir);
  const tmp = `${file}.${pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    // 'wx' is O_EXCL: never opens through a link someone left under the temp name.
    fs.writeFileSync(tmp, `${pid}\n`, { flag: 'wx', mode: 0o600 });
    fs.chmodSync(tmp, 0o600);
    fs.renameSync(tmp, file);
  } catch (e) {
    removeIfExists(tmp);
    throw new OverlayError('ESTATE_DIR', `cannot write ${file}: ${errnoOf(e) ?? String(e)}`, { cause: e });
  }
}

/** Removes the pid file if it still names `pid`: a node never removes a successor's file. */
export function removePidFile(stateDir: string, pid: number = process.pid): boolean {
  if (readPidFile(stateDir) !== pid) return false;
  return removeIfExists(pidFilePath(stateDir));
}

/**
 * Alive means signalable and not a zombie; EPERM means it exists but belongs to someone else.
 * A zombie main thread is not enough to call it dead: its other threads (Node has several) may still
 * be exiting and holding its files, the control socket among them.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if (errnoOf(e) !== 'EPERM') return false;
  }
  if (procState(pid) !== 'Z') return true;
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

export function removeIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/** The state letter of /proc/PID/stat; undefined off Linux or when the process is gone. */
function procState(pid: number): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // proc(5): "pid (comm) state ..."; comm may itself hold spaces and parentheses.
  return text.slice(text.lastIndexOf(')') + 2).split(' ')[0];
}
