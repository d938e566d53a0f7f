import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { codeOf } from '../../core/control/controlError.js';
import {
  claimPidFile,
  isProcessAlive,
  livePidFromFile,
  pidFilePath,
  readPidFile,
  removePidFile,
} from '../../core/daemon/pidFile.js';

function stateDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-pid-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The pid of a process that has exited (and been reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '0']);
  return r.pid;
}

test('claim writes our pid, 0600, and leaves no temp file', (t) => {
  const dir = stateDir(t);
  claimPidFile(dir);
  t.is(fs.readFileSync(pidFilePath(dir), 'utf8'), `${process.pid}\n`);
  t.is(fs.statSync(pidFilePath(dir)).mode & 0o777, 0o600);
  t.deepEqual(fs.readdirSync(dir), ['overlay.pid']);
});

test('claim refuses while another live node holds the file', (t) => {
  const dir = stateDir(t);
  // Our parent is alive and started before this file was written: a plausible holder.
  fs.writeFileSync(pidFilePath(dir), `${process.ppid}\n`);
  const e = t.throws(() => claimPidFile(dir));
  t.is(codeOf(e), 'EALREADY');
  t.is(e?.message, `overlay is already running (pid ${process.ppid})`);
  t.is(readPidFile(dir), process.ppid);
  t.deepEqual(fs.readdirSync(dir), ['overlay.pid']);
});

test('claim replaces the file of a process that is gone', (t) => {
  const dir = stateDir(t);
  const dead = deadPid();
  t.false(isProcessAlive(dead));
  fs.writeFileSync(pidFilePath(dir), `${dead}\n`);
  claimPidFile(dir);
  t.is(readPidFile(dir), process.pid);
});

test('a pid reused by a process that started after the file was written is not the node', (t) => {
  const dir = stateDir(t);
  // This test process is alive, but the file claims to be from an hour before it started.
  fs.writeFileSync(pidFilePath(dir), `${process.pid}\n`);
  const anHourAgo = new Date(Date.now() - 3600_000);
  fs.utimesSync(pidFilePath(dir), anHourAgo, anHourAgo);
  t.is(livePidFromFile(dir), undefined);
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
  claimPidFile(dir);
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
