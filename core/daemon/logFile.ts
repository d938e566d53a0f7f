import fs from 'node:fs';
import path from 'node:path';
import { errnoOf } from '../store/stateDir.js';

/** A detached node's stdout and stderr, appended run after run. */
export const LOG_FILE_NAME = 'overlay.log';

/** Past this size, the log moves to overlay.log.1 at the next start: one old generation is kept. */
const ROTATE_AT_BYTES = 10 * 1024 * 1024;

export function logFilePath(stateDir: string): string {
  return path.join(stateDir, LOG_FILE_NAME);
}

/**
 * Opens the log for appending, 0600 (it may name peers and endpoints), never through a symlink.
 * `offset` is where this run's output starts, so a failed start reports its own lines only.
 */
export function openLogForAppend(stateDir: string): { fd: number; offset: number; path: string } {
  const file = logFilePath(stateDir);
  try {
    if (fs.lstatSync(file).size > ROTATE_AT_BYTES) fs.renameSync(file, `${file}.1`);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
  const { O_WRONLY, O_APPEND, O_CREAT, O_NOFOLLOW } = fs.constants;
  const fd = fs.openSync(file, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW, 0o600);
  try {
    // A log created by an older version, or with another umask, becomes 0600 too.
    fs.fchmodSync(fd, 0o600);
    return { fd, offset: fs.fstatSync(fd).size, path: file };
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
}

/** The last `maxLines` non-empty lines written from `offset` on (reading at most the last 64 KiB). */
export function readLogTail(file: string, offset: number, maxLines = 20): string[] {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(offset, size - 64 * 1024);
    const buf = Buffer.alloc(Math.max(0, size - start));
    fs.readSync(fd, buf, 0, buf.length, start);
    return buf
      .toString('utf8')
      .split('\n')
      .map((l) => l.trimEnd())
      .filter((l) => l !== '')
      .slice(-maxLines);
  } finally {
    fs.closeSync(fd);
  }
}
