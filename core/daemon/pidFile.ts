import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { alreadyRunningError } from '../control/controlError.js';
import { OverlayError } from '../errors.js';
import { errnoOf } from '../store/stateDir.js';

/**
 * `<stateDir>/overlay.pid`: the running node's process id, one number and a newline, so that
 * `kill $(cat overlay.pid)` works. The control socket says whether a node answers; the pid file says
 * which process to signal when it does not.
 */
export const PID_FILE_NAME = 'overlay.pid';

export function pidFilePath(stateDir: string): string {
  return path.join(stateDir, PID_FILE_NAME);
}

/** The pid the file names, or undefined when there is no file or it does not hold a pid. */
export function readPidFile(stateDir: string): number | undefined {
  let text: string;
  try {
    text = fs.readFileSync(pidFilePath(stateDir), 'utf8');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw new OverlayError('ESTATE_DIR', `cannot read ${pidFilePath(stateDir)}: ${errnoOf(e) ?? e}`, {
      cause: e,
    });
  }
  const m = /^\s*(\d{1,10})\s*$/.exec(text);
  const pid = m ? Number(m[1]) : Number.NaN;
  // Never 1: whatever wrote that, signalling init is not how to stop a node.
  return Number.isSafeInteger(pid) && pid > 1 ? pid : undefined;
}

/**
 * The pid of a node that still holds the pid file: the process is alive, and (on Linux) it started
 * before the file was written. A node killed with -9 leaves its file behind, and its pid may since
 * belong to some unrelated process that we must neither report nor signal.
 */
export function livePidFromFile(stateDir: string): number | undefined {
  const pid = readPidFile(stateDir);
  if (pid === undefined || !isProcessAlive(pid)) return undefined;
  let writtenMs: number;
  try {
    writtenMs = fs.statSync(pidFilePath(stateDir)).mtimeMs;
  } catch {
    return undefined;
  }
  const startedMs = processStartMs(pid);
  // /proc's boot time is in whole seconds: allow that much error before calling it a reused pid.
  if (startedMs !== undefined && startedMs > writtenMs + 2000) return undefined;
  return pid;
}

/**
 * Writes our pid to the pid file, atomically and exclusively: the complete file appears at once
 * (link of a finished temp file), and only if no other live node holds it. A stale file is replaced.
 */
export function claimPidFile(stateDir: string, pid: number = process.pid): void {
  const file = pidFilePath(stateDir);
  const tmp = `${file}.${pid}.${randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, `${pid}\n`, { flag: 'wx', mode: 0o600 });
  try {
    fs.chmodSync(tmp, 0o600);
    for (let attempt = 0; ; attempt++) {
      try {
        // link(2) fails with EEXIST instead of replacing: two nodes starting at once cannot both win.
        fs.linkSync(tmp, file);
        return;
      } catch (e) {
        const code = errnoOf(e);
        if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
          // A filesystem without hard links: rename is still atomic, only not exclusive.
          const holder = livePidFromFile(stateDir);
          if (holder !== undefined && holder !== pid) throw alreadyRunningError(holder);
          fs.renameSync(tmp, file);
          return;
        }
        if (code !== 'EEXIST' || attempt > 0) throw e;
      }
      const holder = livePidFromFile(stateDir);
      if (holder !== undefined && holder !== pid) throw alreadyRunningError(holder);
      removeIfExists(file);
    }
  } finally {
    removeIfExists(tmp);
  }
}

/** Removes the pid file if it still names `pid`: a node never removes a successor's file. */
export function removePidFile(stateDir: string, pid: number = process.pid): boolean {
  if (readPidFile(stateDir) !== pid) return false;
  return removeIfExists(pidFilePath(stateDir));
}

/** Removes a pid file whose process is gone (or is not the node that wrote it). */
export function removeStalePidFile(stateDir: string): boolean {
  if (livePidFromFile(stateDir) !== undefined) return false;
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
  if (procStat(pid)?.state !== 'Z') return true;
  try {
    return fs.readdirSync(`/proc/${pid}/task`).length > 1;
  } catch {
    return false;
  }
}

function removeIfExists(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw e;
  }
}

/** Fields of /proc/PID/stat we need; undefined off Linux or when the process is gone. */
function procStat(pid: number): { state: string; startTicks: number } | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // proc(5): "pid (comm) state ..."; comm may itself hold spaces and parentheses.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = fields[0];
  const startTicks = Number(fields[19]); // field 22, starttime, in clock ticks since boot
  if (state === undefined || !Number.isFinite(startTicks)) return undefined;
  return { state, startTicks };
}

function processStartMs(pid: number): number | undefined {
  const stat = procStat(pid);
  if (!stat) return undefined;
  let bootSeconds: number;
  try {
    const m = /^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'));
    if (!m) return undefined;
    bootSeconds = Number(m[1]);
  } catch {
    return undefined;
  }
  // USER_HZ is 100 on every Linux architecture Node runs on (sysconf(_SC_CLK_TCK)).
  return (bootSeconds + stat.startTicks / 100) * 1000;
}
