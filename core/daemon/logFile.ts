import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../errors.js';
import { errnoOf, requireOwnEntry, symlinkError } from '../store/stateDir.js';

/** A detached node's stdout and stderr, appended run after run. */
export const LOG_FILE_NAME = 'overlay.log';

/** Past this size, the log moves to overlay.log.1 at the next start: one old generation is kept. */
const ROTATE_AT_BYTES = 10 * 1024 * 1024;

export function logFilePath(stateDir: string): string {
  return path.join(stateDir, LOG_FILE_NAME);
}

/**
 * Opens the log for appending, 0600 (it may name peers and endpoints): ours, a regular file, never
 * through a symlink.
 */
export function openLogForAppend(stateDir: string): { fd: number; path: string } {
  const file = logFilePath(stateDir);
  try {
    const stat = fs.lstatSync(file);
    if (stat.isSymbolicLink()) throw symlinkError('ESTATE_DIR', file, file);
    if (stat.size > ROTATE_AT_BYTES) fs.renameSync(file, `${file}.1`);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  let fd: number;
  try {
    fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  } catch (e) {
    // A link made between the look and the open.
    if (errnoOf(e) === 'ELOOP') throw symlinkError('ESTATE_DIR', file, file);
    throw new OverlayError('ESTATE_DIR', `cannot open ${file}: ${errnoOf(e) ?? String(e)}`, { cause: e });
  }
  try {
    const stat = fs.fstatSync(fd);
    requireOwnEntry('ESTATE_DIR', file, file, stat);
    if (!stat.isFile())
      throw new OverlayError('ESTATE_DIR', `${file} is not a regular file`, { hint: 'move it away' });
    // A log created by an older version, or with another umask, becomes 0600 too.
    fs.fchmodSync(fd, 0o600);
    return { fd, path: file };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** How often (bytes written) the running node looks at its log's size. */
const CHECK_EVERY_BYTES = 64 * 1024;

/**
 * The node's log function: a timestamped line to `fd` (stderr). A detached node's stderr is its
 * state directory's overlay.log; that one is kept under `capBytes` while the node runs, not only
 * at the next start (a node up for weeks wrote without bound): past the cap the file is copied to
 * overlay.log.1 and emptied in place, as logrotate's copytruncate does, because the descriptor is
 * shared with the native side and cannot be swapped. A line written between the copy and the
 * truncation is lost; nothing else is.
 */
export function nodeLog(
  stateDir: string,
  options: { fd?: number; capBytes?: number; now?: () => Date } = {},
): (line: string) => void {
  const fd = options.fd ?? 2;
  const capBytes = options.capBytes ?? ROTATE_AT_BYTES;
  const now = options.now ?? (() => new Date());
  const file = logFilePath(stateDir);
  const ownLog = isSameFile(fd, file);
  let sinceCheck = 0;
  return (line) => {
    const text = `${now().toISOString()} ${line}\n`;
    try {
      fs.writeSync(fd, text);
    } catch {
      return; // nowhere left to log to (a closed terminal): the node runs on
    }
    if (!ownLog) return;
    sinceCheck += Buffer.byteLength(text);
    if (sinceCheck < Math.min(CHECK_EVERY_BYTES, capBytes)) return;
    sinceCheck = 0;
    try {
      if (fs.fstatSync(fd).size <= capBytes) return;
      fs.copyFileSync(file, `${file}.1`);
      fs.chmodSync(`${file}.1`, 0o600);
      fs.ftruncateSync(fd, 0); // O_APPEND: the next write lands at the new end, offset 0
    } catch {
      // A log that cannot be rotated is still written; the next start rotates it.
    }
  };
}

function isSameFile(fd: number, file: string): boolean {
  try {
    const a = fs.fstatSync(fd);
    const b = fs.lstatSync(file);
    return a.isFile() && a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}
