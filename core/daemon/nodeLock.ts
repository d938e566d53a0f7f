import fs from 'node:fs';
import path from 'node:path';
import { tryLockFile } from 'tun-napi';
import { alreadyRunningError } from '../control/controlError.js';
import { OverlayError } from '../errors.js';
import { errnoOf, requireOwnEntry, symlinkError } from '../store/stateDir.js';
import { isProcessAlive, readPidFile, removePidFile, writePidFile } from './pidFile.js';

/**
 * `<stateDir>/overlay.lock`: one node per state directory, decided by the kernel. The node holds an
 * exclusive flock(2) on it for its whole life; the kernel drops the lock when the process ends,
 * however it ends (kill -9 included), so no pid file has to be judged stale — two `up`s racing
 * after a crash cannot both win, and neither can remove what the other made. The file itself is
 * never removed: removing a lock file lets a late opener lock an orphaned inode next to a new one.
 */
export const LOCK_FILE_NAME = 'overlay.lock';

export function lockFilePath(stateDir: string): string {
  return path.join(stateDir, LOCK_FILE_NAME);
}

/** Who holds the lock: nobody, a process we can name, or one in a pid namespace we cannot see into. */
export type LockState = { held: false } | { held: true; pid: number | undefined };

export class NodeLock {
  private fd: number | undefined;

  private constructor(
    fd: number,
    readonly stateDir: string,
    readonly pid: number,
  ) {
    this.fd = fd;
  }

  /**
   * Takes the state directory's lock for this process and writes the pid file (`down` and
   * `kill $(cat overlay.pid)` use it). EALREADY, naming the holder, when a node holds it.
   */
  static claim(stateDir: string, pid: number = process.pid): NodeLock {
    const file = lockFilePath(stateDir);
    const fd = openLockFile(file);
    let locked = false;
    try {
      locked = tryLockFile(fd);
    } catch (e) {
      fs.closeSync(fd);
      throw new OverlayError('ESTATE_DIR', `cannot lock ${file}: ${(e as Error).message}`, { cause: e });
    }
    if (!locked) {
      fs.closeSync(fd);
      const holder = nodeLockState(stateDir);
      throw alreadyRunningError(holder.held ? (holder.pid ?? readPidFile(stateDir)) : readPidFile(stateDir));
    }
    const lock = new NodeLock(fd, stateDir, pid);
    try {
      writePidFile(stateDir, pid);
    } catch (e) {
      lock.release();
      throw e;
    }
    return lock;
  }

  get held(): boolean {
    return this.fd !== undefined;
  }

  /** Removes our pid file, then lets the lock go. Idempotent. */
  release(): void {
    if (this.fd === undefined) return;
    try {
      removePidFile(this.stateDir, this.pid);
    } finally {
      fs.closeSync(this.fd);
      this.fd = undefined;
    }
  }
}

/** Opens (creating 0600) the lock file: ours, a regular file, never through a link. */
function openLockFile(file: string): number {
  const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_RDWR | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (e) {
    if (errnoOf(e) === 'ELOOP') throw symlinkError('ESTATE_DIR', file, file);
    throw new OverlayError('ESTATE_DIR', `cannot open ${file}: ${errnoOf(e) ?? String(e)}`, {
      hint: 'choose a writable --state-dir, or run with sudo if it belongs to root',
      cause: e,
    });
  }
  try {
    const stat = fs.fstatSync(fd);
    requireOwnEntry('ESTATE_DIR', file, file, stat);
    if (!stat.isFile()) {
      throw new OverlayError('ESTATE_DIR', `${file} is not a regular file`, { hint: `move it away` });
    }
    if ((stat.mode & 0o077) !== 0) fs.fchmodSync(fd, 0o600);
    return fd;
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/**
 * Whether a node holds the lock, and its pid, from the kernel's table of locks (/proc/locks): a
 * read that cannot disturb a node taking the lock at the same moment. Without /proc, the pid
 * file's process being alive is the best guess left.
 */
export function nodeLockState(stateDir: string): LockState {
  let stat: fs.BigIntStats;
  try {
    stat = fs.lstatSync(lockFilePath(stateDir), { bigint: true });
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return { held: false };
    throw e;
  }
  let table: string;
  try {
    table = fs.readFileSync('/proc/locks', 'utf8');
  } catch {
    const pid = readPidFile(stateDir);
    return pid !== undefined && isProcessAlive(pid) ? { held: true, pid } : { held: false };
  }
  const holder = flockHolder(table, stat.dev, stat.ino);
  if (holder === undefined) return { held: false };
  return { held: true, pid: holder > 0 ? holder : undefined };
}

/** The pid holding a flock on (dev, ino) in /proc/locks text; 0 when it is in a pid namespace we cannot see. */
export function flockHolder(table: string, dev: bigint, ino: bigint): number | undefined {
  // proc(5): "1: FLOCK  ADVISORY  WRITE 1234 fe:00:2146680 0 EOF"; the device as the kernel's
  // major:minor in hex. Lines with "->" are waiters, not holders. POSIX too: on NFS, flock(2) is
  // carried out as a whole-file POSIX lock, and nothing else locks this file.
  const want = `${devMajor(dev).toString(16).padStart(2, '0')}:${devMinor(dev).toString(16).padStart(2, '0')}:${ino}`;
  for (const line of table.split('\n')) {
    const m = /^\d+:\s+(?:FLOCK|POSIX)\s+\S+\s+\S+\s+(-?\d+)\s+(\S+)\s/.exec(line);
    if (m && m[2] === want) return Math.max(0, Number(m[1]));
  }
  return undefined;
}

// glibc's gnu_dev_major/minor: how st_dev packs the kernel's device number.
function devMajor(dev: bigint): bigint {
  return ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn);
}

function devMinor(dev: bigint): bigint {
  return (dev & 0xffn) | ((dev >> 12n) & ~0xffn);
}
