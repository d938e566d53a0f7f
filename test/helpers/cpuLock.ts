/**
 * One root test at a time across AVA's worker processes. Root tests build namespaces, start
 * nodes and time what they see (a path direct within 5 s, a kick within 10 s); two of them at once
 * on a 2-core machine share the CPU, and each one's deadlines then measure the other. So each
 * takes this lock for its whole run: a directory made atomically with mkdir(2), holding the
 * owner's pid. A holder that died (a crashed worker) is noticed by its pid and its lock taken over.
 * Tests that need no root are light and keep running alongside.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const LOCK = join(tmpdir(), 'overlay-root-tests.lock');
const OWNER = join(LOCK, 'pid');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === 'EPERM';
  }
}

function tryTake(): boolean {
  try {
    mkdirSync(LOCK);
  } catch {
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(OWNER, 'utf8'));
    } catch {
      // made but not yet written: its maker is alive and about to write
      return false;
    }
    if (Number.isInteger(owner) && owner > 0 && !alive(owner)) rmSync(LOCK, { recursive: true, force: true });
    return false;
  }
  writeFileSync(OWNER, String(process.pid));
  return true;
}

/** Runs `fn` holding the lock; waits for it (polling) as long as it takes. */
export async function oneAtATime<T>(fn: () => Promise<T> | T): Promise<T> {
  while (!tryTake()) await sleep(100);
  const release = () => rmSync(LOCK, { recursive: true, force: true });
  process.once('exit', release);
  try {
    return await fn();
  } finally {
    process.removeListener('exit', release);
    release();
  }
}
