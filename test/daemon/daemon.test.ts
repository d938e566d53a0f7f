import fs from 'node:fs';
import test, { type ExecutionContext } from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { codeOf } from '../../core/control/controlError.js';
import { controlSocketPath } from '../../core/control/protocol.js';
import { startDetached } from '../../core/daemon/detached.js';
import { logFilePath } from '../../core/daemon/logFile.js';
import { isProcessAlive, pidFilePath, readPidFile } from '../../core/daemon/pidFile.js';
import { isRunning } from '../../core/daemon/running.js';
import { stopNode } from '../../core/daemon/stop.js';
import { waitUntil } from '../../core/daemon/wait.js';
import { OverlayError } from '../../core/errors.js';
import { fakeNodeScript, killAtEnd, startFakeNode, tempStateDir } from '../helpers/fakeNode.js';

const fakeNode = fakeNodeScript;
const stateDir = (t: ExecutionContext) => tempStateDir(t);
const start = startFakeNode;

async function gone(pid: number): Promise<boolean> {
  return waitUntil(() => !isProcessAlive(pid), 5000);
}

test('up returns once the node answers status, with its pid in the pid file', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir);
  t.is(readPidFile(dir), node.pid);
  t.is(fs.statSync(pidFilePath(dir)).mode & 0o777, 0o600);
  t.is(fs.statSync(logFilePath(dir)).mode & 0o777, 0o600);
  t.is(fs.lstatSync(controlSocketPath(dir)).mode & 0o777, 0o600);
  const client = await ControlClient.connect(node.socketPath);
  t.teardown(() => client.close());
  t.like(await client.call('status'), { pid: node.pid });
  t.true(await isRunning(dir));
});

test('a second up while one runs says it is already running, with its pid', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir);
  const e = await t.throwsAsync(start(t, dir));
  t.is(codeOf(e), 'EALREADY');
  t.is(e.message, `overlay is already running (pid ${node.pid})`);
  t.true(isProcessAlive(node.pid));
});

test('down stops the node and removes its pid file and socket', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir);
  const result = await stopNode(dir, { timeoutMs: 5000 });
  t.deepEqual(result, { pid: node.pid, how: 'down' });
  t.false(isProcessAlive(node.pid));
  t.false(fs.existsSync(pidFilePath(dir)));
  t.false(fs.existsSync(controlSocketPath(dir)));
  t.false(await isRunning(dir));
  t.regex(fs.readFileSync(logFilePath(dir), 'utf8'), /stop requested \(down\)\nfake-node: stopped cleanly/);
});

test('down with no node running is ENOTRUNNING', async (t) => {
  const e = await t.throwsAsync(stopNode(stateDir(t)));
  t.is(codeOf(e), 'ENOTRUNNING');
});

test('a node that fails to start makes up fail with its error code, message and hint, not a log line', async (t) => {
  const dir = stateDir(t);
  for (const code of ['EPERM', 'ENOTUN', 'ETUN', 'EBUSY', 'EPORT_TAKEN'] as const) {
    const e = await t.throwsAsync(start(t, dir, ['--fail-start', code]), { instanceOf: OverlayError });
    t.is(e.code, code);
    t.is(e.message, `fake-node cannot start (${code})`);
    t.is(e.hint, 'as asked');
    t.false(fs.existsSync(pidFilePath(dir)));
  }
});

test('a node that dies before a word makes up fail with its exit status and the log to read', async (t) => {
  const dir = stateDir(t);
  const e = await t.throwsAsync(start(t, dir, ['--exit-early', '3']), { instanceOf: OverlayError });
  t.is(e.code, 'EINTERNAL');
  t.is(e.message, 'the node stopped while starting (exit code 3)');
  t.is(e.hint, `see ${logFilePath(dir)}`);
  t.regex(fs.readFileSync(logFilePath(dir), 'utf8'), /exiting before a word/);
});

test('after kill -9 of the node, up works again and replaces the stale pid file and socket', async (t) => {
  const dir = stateDir(t);
  const first = await start(t, dir);
  process.kill(first.pid, 'SIGKILL');
  t.true(await gone(first.pid));
  t.true(fs.existsSync(pidFilePath(dir)), 'kill -9 leaves the pid file');
  t.true(fs.existsSync(controlSocketPath(dir)), 'kill -9 leaves the socket');
  t.false(await isRunning(dir));

  const second = await start(t, dir);
  t.not(second.pid, first.pid);
  t.is(readPidFile(dir), second.pid);
  t.true(await isRunning(dir));
});

test('down after kill -9 cleans up the leftovers and says the node is not running', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir);
  process.kill(node.pid, 'SIGKILL');
  t.true(await gone(node.pid));
  const e = await t.throwsAsync(stopNode(dir));
  t.is(codeOf(e), 'ENOTRUNNING');
  t.false(fs.existsSync(pidFilePath(dir)));
  t.false(fs.existsSync(controlSocketPath(dir)));
});

test('SIGTERM shuts the node down gracefully and cleans up', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir);
  process.kill(node.pid, 'SIGTERM');
  t.true(await gone(node.pid));
  const log = fs.readFileSync(logFilePath(dir), 'utf8');
  t.regex(log, /stopping \(SIGTERM\)/);
  t.regex(log, /fake-node: stopped cleanly/);
  t.false(fs.existsSync(pidFilePath(dir)));
  t.false(fs.existsSync(controlSocketPath(dir)));
});

test('a node stuck in its shutdown is ended by SIGTERM after the down timeout', async (t) => {
  const dir = stateDir(t);
  const node = await start(t, dir, ['--hang-on-stop']);
  const result = await stopNode(dir, { timeoutMs: 300, killGraceMs: 3000 });
  t.deepEqual(result, { pid: node.pid, how: 'SIGTERM' });
  t.false(isProcessAlive(node.pid));
  t.regex(fs.readFileSync(logFilePath(dir), 'utf8'), /SIGTERM again while stopping; exiting now/);
  t.false(fs.existsSync(pidFilePath(dir)));
  t.false(fs.existsSync(controlSocketPath(dir)));
});

test('a node that is not ready in time is stopped and up reports the timeout', async (t) => {
  const dir = stateDir(t);
  let pid: number | undefined;
  const e = await t.throwsAsync(
    startDetached({
      argv: [process.execPath, fakeNode, '--state-dir', dir, '--start-delay-ms', '1000'],
      stateDir: dir,
      readyTimeoutMs: 200,
      onProgress: (p) => {
        if (p.stage === 'spawned') {
          pid = p.pid;
          killAtEnd(t, p.pid);
        }
      },
    }),
  );
  t.is(codeOf(e), 'ETIMEOUT');
  t.truthy(pid);
  t.false(isProcessAlive(pid!), 'the half-started node does not stay behind');
  t.false(fs.existsSync(pidFilePath(dir)));
});
