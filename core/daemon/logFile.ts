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
