import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { codeOf } from '../../core/control/controlError.js';
import { flockHolder, lockFilePath, NodeLock, nodeLockState } from '../../core/daemon/nodeLock.js';
import { isProcessAlive, pidFilePath, readPidFile, removePidFile } from '../../core/daemon/pidFile.js';
import { waitUntil } from '../../core/daemon/wait.js';
import { rootTest } from '../helpers/root.js';

const nodeLockModule = new URL('../../core/daemon/nodeLock.js', import.meta.url).href;

function stateDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-pid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Another process that claims the node lock for `dir` and holds it until killed. */
async function holder(t: ExecutionContext, dir: string): Promise<ChildProcess> {
  const script = `const { NodeLock } = await import(${JSON.stringify(nodeLockModule)});
NodeLock.claim(${JSON.stringify(dir)}); process.stdout.write('locked\\n'); setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`lock holder exited (${code})`)));
  });
  return child;
}

test('claim takes the lock and writes our pid, both 0600, and leaves no temp file', (t) => {
  const dir = stateDir(t);
  const lock = NodeLock.claim(dir);
  t.teardown(() => lock.release());
  t.is(fs.readFileSync(pidFilePath(dir), 'utf8'), `${process.pid}\n`);
  t.is(fs.statSync(pidFilePath(dir)).mode & 0o777, 0o600);
  t.is(fs.statSync(lockFilePath(dir)).mode & 0o777, 0o600);
  t.deepEqual(fs.readdirSync(dir).sort(), ['overlay.lock', 'overlay.pid']);
  t.deepEqual(nodeLockState(dir), { held: true, pid: process.pid });
});

test('claim refuses while another process holds the lock, naming it, and leaves its pid file alone', async (t) => {
  const dir = stateDir(t);
  const other = await holder(t, dir);
  const e = t.throws(() => NodeLock.claim(dir));
  t.is(codeOf(e), 'EALREADY');
  t.is(e?.message, `overlay is already running (pid ${other.pid})`);
  t.is(readPidFile(dir), other.pid);
  t.deepEqual(nodeLockState(dir), { held: true, pid: other.pid });
});

test('a second claim in the same process is refused too: the lock is per open file', (t) => {
  const dir = stateDir(t);
  const lock = NodeLock.claim(dir);
  t.teardown(() => lock.release());
  t.is(codeOf(t.throws(() => NodeLock.claim(dir))), 'EALREADY');
  t.is(readPidFile(dir), process.pid);
});

test('kill -9 of the holder frees the lock at once; its stale pid file is replaced', async (t) => {
  const dir = stateDir(t);
  const other = await holder(t, dir);
  other.kill('SIGKILL');
  t.true(await waitUntil(() => !isProcessAlive(other.pid!), 5000));
  t.is(readPidFile(dir), other.pid, 'kill -9 leaves the pid file');
  t.deepEqual(nodeLockState(dir), { held: false });
  const lock = NodeLock.claim(dir);
  t.teardown(() => lock.release());
  t.is(readPidFile(dir), process.pid);
});

test('a pid file naming a live process that holds no lock is not a node', (t) => {
  const dir = stateDir(t);
  // Our parent is alive: by the pid file alone, it could pass for the node.
  fs.writeFileSync(pidFilePath(dir), `${process.ppid}\n`, { mode: 0o600 });
  t.deepEqual(nodeLockState(dir), { held: false });
  const lock = NodeLock.claim(dir);
  t.teardown(() => lock.release());
  t.is(readPidFile(dir), process.pid);
});

test('release removes the pid file and lets the lock go', (t) => {
  const dir = stateDir(t);
  NodeLock.claim(dir).release();
  t.false(fs.existsSync(pidFilePath(dir)));
  t.true(fs.existsSync(lockFilePath(dir)), 'the lock file stays: removing it would let two inodes be locked');
  t.deepEqual(nodeLockState(dir), { held: false });
  NodeLock.claim(dir).release();
});

test('a lock file or pid file that is a symbolic link is refused, its target untouched', (t) => {
  const dir = stateDir(t);
  const target = path.join(stateDir(t), 'target');
  fs.writeFileSync(target, 'mine\n', { mode: 0o600 });
  fs.symlinkSync(target, lockFilePath(dir));
  t.regex(t.throws(() => NodeLock.claim(dir)).message, /symbolic link/);
  fs.unlinkSync(lockFilePath(dir));
  fs.symlinkSync(target, pidFilePath(dir));
  t.regex(t.throws(() => readPidFile(dir)).message, /symbolic link/);
  const lock = NodeLock.claim(dir);
  lock.release();
  t.is(fs.readFileSync(target, 'utf8'), 'mine\n');
  t.false(fs.lstatSync(lockFilePath(dir)).isSymbolicLink());
});

rootTest(test, 'a lock file owned by another user is refused', (t) => {
  const dir = stateDir(t);
  fs.writeFileSync(lockFilePath(dir), '', { mode: 0o600 });
  fs.chownSync(lockFilePath(dir), 65534, 65534);
  const e = t.throws(() => NodeLock.claim(dir));
  t.regex(e.message, /belongs to uid 65534/);
  t.false(fs.existsSync(pidFilePath(dir)));
});

test('/proc/locks: the holder of our inode, not a waiter, an OFD lock or another device', (t) => {
  const table = [
    '1: OFDLCK ADVISORY  WRITE -1 fe:00:42 0 EOF',
    '2: FLOCK  ADVISORY  WRITE 222 fe:01:42 0 EOF',
    '3: FLOCK  ADVISORY  WRITE 333 fe:00:42 0 EOF',
    '3: -> FLOCK  ADVISORY  WRITE 444 fe:00:42 0 EOF',
    '4: FLOCK  ADVISORY  WRITE 555 00:2d:7 0 EOF',
    '5: POSIX  ADVISORY  WRITE 666 00:33:9 0 EOF',
  ].join('\n');
  const dev = (major: number, minor: number) => BigInt((major << 8) | minor);
  t.is(flockHolder(table, dev(0xfe, 0), 42n), 333);
  t.is(flockHolder(table, dev(0, 0x2d), 7n), 555);
  t.is(flockHolder(table, dev(0, 0x33), 9n), 666, 'flock on NFS shows as a POSIX lock');
  t.is(flockHolder(table, dev(0xfe, 0), 43n), undefined);
  t.is(
    flockHolder('1: FLOCK  ADVISORY  WRITE 0 fe:00:42 0 EOF', dev(0xfe, 0), 42n),
    0,
    'another pid namespace',
  );
});

test('pid 1 is never taken for a node (it would be init we signal)', (t) => {
  const dir = stateDir(t);
  fs.writeFileSync(pidFilePath(dir), '1\n');
  t.is(readPidFile(dir), undefined);
});

test('garbage in the pid file reads as no pid, and is replaced by a claim', (t) => {
  const dir = stateDir(t);
  fs.writeFileSync(pidFilePath(dir), 'not a pid\n');
  t.is(readPidFile(dir), undefined);
  const lock = NodeLock.claim(dir);
  t.teardown(() => lock.release());
  t.is(readPidFile(dir), process.pid);
});

test('remove only removes a pid file that still names us', (t) => {
  const dir = stateDir(t);
  fs.writeFileSync(pidFilePath(dir), `${process.ppid}\n`);
  t.false(removePidFile(dir));
  t.true(fs.existsSync(pidFilePath(dir)));
  fs.writeFileSync(pidFilePath(dir), `${process.pid}\n`);
  t.true(removePidFile(dir));
  t.false(fs.existsSync(pidFilePath(dir)));
});
