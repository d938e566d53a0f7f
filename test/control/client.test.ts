import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { ControlError, codeOf } from '../../core/control/controlError.js';
import { OverlayError } from '../../core/errors.js';
import { startServer, tempDir } from './harness.js';

test('with no socket file, connect says the node is not running and how to start it', async (t) => {
  const socketPath = path.join(tempDir(t), 'control.sock');
  const e = await t.throwsAsync(ControlClient.connect(socketPath), { instanceOf: ControlError });
  t.is(codeOf(e), 'ENOTRUNNING');
  t.regex(e.message, /not running/);
  t.regex(e.hint ?? '', /overlay up/);
});

test('with a stale socket file, connect says the node is not running', async (t) => {
  const socketPath = path.join(tempDir(t), 'control.sock');
  const stale = net.createServer();
  await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
  fs.linkSync(socketPath, `${socketPath}.keep`);
  await new Promise<void>((resolve) => stale.close(() => resolve()));
  fs.renameSync(`${socketPath}.keep`, socketPath);
  const e = await t.throwsAsync(ControlClient.connect(socketPath), { instanceOf: ControlError });
  t.is(codeOf(e), 'ENOTRUNNING');
});

test('a call the node does not answer in time is ETIMEOUT, and the client stays usable', async (t) => {
  const server = await startServer(t, {
    handlers: {
      never: () => new Promise(() => {}),
      ping: async () => 'pong',
    },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('never', {}, { timeoutMs: 100 }), { instanceOf: ControlError });
  t.is(codeOf(e), 'ETIMEOUT');
  t.is(await client.call('ping'), 'pong');
});

test('a call after close rejects with ECLOSED instead of hanging', async (t) => {
  const server = await startServer(t, { handlers: { ping: async () => 'pong' } });
  const client = await ControlClient.connect(server.socketPath);
  client.close();
  const e = await t.throwsAsync(client.call('ping'), { instanceOf: ControlError });
  t.is(codeOf(e), 'ECLOSED');
});

test('calls in flight when the node goes away reject with ECLOSED', async (t) => {
  const server = await startServer(t, {
    handlers: { never: () => new Promise(() => {}) },
    closeGraceMs: 100,
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const pending = client.call('never', {}, { timeoutMs: 5000 });
  await new Promise((r) => setTimeout(r, 20));
  await server.close();
  const e = await t.throwsAsync(pending, { instanceOf: ControlError });
  t.is(codeOf(e), 'ECLOSED');
});

test('an error code this build does not know keeps its message as EINTERNAL', async (t) => {
  const socketPath = path.join(tempDir(t), 'control.sock');
  // A newer node, simulated by hand: it answers with a code we have never heard of.
  const future = net.createServer((s) =>
    s.on('data', () => s.write('{"id":1,"error":{"code":"EFUTURE","message":"from the future"}}\n')),
  );
  await new Promise<void>((resolve) => future.listen(socketPath, resolve));
  t.teardown(() => future.close());
  const client = await ControlClient.connect(socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('x'), { instanceOf: OverlayError });
  t.is(e.code, 'EINTERNAL');
  t.regex(e.message, /from the future \(EFUTURE\)/);
});
