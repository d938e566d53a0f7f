/**
 * The control socket admits 64 clients; whoever holds them all, idle or watching, must not lock
 * `overlay down` out.
 */
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { startDetached } from '../../core/daemon/detached.js';
import { isProcessAlive } from '../../core/daemon/pidFile.js';
import { stopNode } from '../../core/daemon/stop.js';

const fakeNode = fileURLToPath(new URL('../fixtures/fake-node.js', import.meta.url));
const MAX_CLIENTS = 64;
const DOWN_BOUND_MS = 5000;

async function runningNode(t: ExecutionContext) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-lockout-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const node = await startDetached({
    argv: [process.execPath, fakeNode, '--state-dir', dir],
    stateDir: dir,
    readyTimeoutMs: 10_000,
    onProgress: (p) => {
      if (p.stage === 'spawned') {
        t.teardown(() => {
          try {
            process.kill(-p.pid, 'SIGKILL');
          } catch {
            // already gone
          }
        });
      }
    },
  });
  return { dir, node };
}

/** Raw connections that say nothing; each is in the node's client table once `connect` fires. */
async function idleClients(t: ExecutionContext, socketPath: string, n: number): Promise<net.Socket[]> {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(socketPath);
          s.on('error', () => {});
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        }),
    ),
  );
  t.teardown(() => {
    for (const s of sockets) s.destroy();
  });
  // Give the node the moment it needs to accept them all.
  await new Promise((r) => setTimeout(r, 300));
  return sockets;
}

test(`${MAX_CLIENTS} idle control clients do not keep down from stopping the node`, async (t) => {
  const { dir, node } = await runningNode(t);
  await idleClients(t, node.socketPath, MAX_CLIENTS);
  const started = Date.now();
  const result = await stopNode(dir, { timeoutMs: DOWN_BOUND_MS });
  const tookMs = Date.now() - started;
  t.is(result.pid, node.pid);
  t.false(isProcessAlive(node.pid));
  t.true(tookMs < DOWN_BOUND_MS, `down took ${tookMs} ms`);
});

test(`${MAX_CLIENTS} clients watching streams do not keep down from stopping the node`, async (t) => {
  const { dir, node } = await runningNode(t);
  const watchers = await Promise.all(
    Array.from({ length: MAX_CLIENTS }, () => ControlClient.connect(node.socketPath)),
  );
  t.teardown(() => {
    for (const w of watchers) w.close();
  });
  const streams = watchers.map((w) => w.stream('watch', {}, () => {}).catch(() => {}));
  await new Promise((r) => setTimeout(r, 500));
  const started = Date.now();
  const result = await stopNode(dir, { timeoutMs: DOWN_BOUND_MS });
  const tookMs = Date.now() - started;
  t.is(result.pid, node.pid);
  t.false(isProcessAlive(node.pid));
  t.true(tookMs < DOWN_BOUND_MS, `down took ${tookMs} ms`);
  t.regex(
    fs.readFileSync(path.join(dir, 'overlay.log'), 'utf8'),
    /fake-node: stopped cleanly/,
    'a graceful stop',
  );
  await Promise.all(streams);
});
