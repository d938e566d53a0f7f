/**
 * The control socket admits 64 clients; whoever holds them all, idle or watching, must not lock
 * `overlay down` out.
 */
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { isProcessAlive } from '../../core/daemon/pidFile.js';
import { stopNode } from '../../core/daemon/stop.js';
import { startFakeNode, tempStateDir } from '../helpers/fakeNode.js';

const MAX_CLIENTS = 64;
const DOWN_BOUND_MS = 5000;

async function runningNode(t: ExecutionContext) {
  const dir = tempStateDir(t, 'ovl-lockout-');
  return { dir, node: await startFakeNode(t, dir, [], 10_000) };
}

/** `overlay down`, which must stop the node within the bound. */
async function downWithinBound(t: ExecutionContext, dir: string, pid: number): Promise<void> {
  const started = Date.now();
  const result = await stopNode(dir, { timeoutMs: DOWN_BOUND_MS });
  const tookMs = Date.now() - started;
  t.is(result.pid, pid);
  t.false(isProcessAlive(pid));
  t.true(tookMs < DOWN_BOUND_MS, `down took ${tookMs} ms`);
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
  await downWithinBound(t, dir, node.pid);
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
  await downWithinBound(t, dir, node.pid);
  t.regex(
    fs.readFileSync(path.join(dir, 'overlay.log'), 'utf8'),
    /fake-node: stopped cleanly/,
    'a graceful stop',
  );
  await Promise.all(streams);
});
