/**
 * Clients that hold the control socket without using it cannot lock the owner out: an idle client
 * is closed after a few seconds, and a full socket makes room by closing its longest-idle client.
 */
import test from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { codeOf } from '../../core/control/controlError.js';
import type { StreamHandler } from '../../core/control/server.js';
import { waitUntil } from '../../core/daemon/wait.js';
import { RawClient, startServer, within } from './harness.js';

const echo = { echo: async (p: Record<string, unknown>) => p };

/** Emits a tick every 50 ms until the client goes away. */
const ticks: StreamHandler = (_params, emit, signal) =>
  new Promise<void>((resolve) => {
    let n = 0;
    const timer = setInterval(() => emit({ n: n++ }), 50);
    signal.addEventListener('abort', () => {
      clearInterval(timer);
      resolve();
    });
  });

test('a client that sends no request is closed after the idle timeout', async (t) => {
  const server = await startServer(t, { handlers: echo, idleTimeoutMs: 300 });
  const raw = await RawClient.connect(t, server.socketPath);
  const started = Date.now();
  const notice = await raw.next(2000);
  t.like(notice, { id: null, error: { code: 'ETIMEOUT' } });
  await raw.closedByServer(2000);
  const after = Date.now() - started;
  t.true(after >= 250 && after < 2000, `closed after ${after} ms`);
  t.true(await waitUntil(() => server.clientCount === 0, 1000), 'its slot is free again');
});

test('a client that sends part of a request and never finishes it is idle too', async (t) => {
  const server = await startServer(t, { handlers: echo, idleTimeoutMs: 300 });
  const raw = await RawClient.connect(t, server.socketPath);
  for (let i = 0; i < 5; i++) {
    raw.write('{"id":1,');
    await new Promise((r) => setTimeout(r, 100));
  }
  await t.notThrowsAsync(raw.closedByServer(2000));
});

test('the idle timeout counts from the last request answered, not from connecting', async (t) => {
  const server = await startServer(t, { handlers: echo, idleTimeoutMs: 400 });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  for (let i = 0; i < 6; i++) {
    t.deepEqual(await client.call('echo', { i }), { i });
    await new Promise((r) => setTimeout(r, 200));
  }
  t.false(client.closed, 'a client that keeps asking stays, 1.2 s past the idle timeout');
  t.true(await waitUntil(() => client.closed, 3000), 'once it stops asking, it is closed');
  t.is(codeOf(await t.throwsAsync(client.call('echo'))), 'ECLOSED');
});

test('a client watching a stream is not idle while the node sends to it', async (t) => {
  const server = await startServer(t, { handlers: echo, streams: { ticks }, idleTimeoutMs: 200 });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  let events = 0;
  const watching = client.stream('ticks', {}, () => {
    events++;
  });
  await new Promise((r) => setTimeout(r, 1000));
  t.false(client.closed);
  const before = events;
  await new Promise((r) => setTimeout(r, 200));
  t.true(events > before, 'events still arrive five idle timeouts later');
  client.close();
  await watching;
});

test('a full socket closes its longest-idle client to let a new one in', async (t) => {
  const server = await startServer(t, { handlers: echo, maxClients: 4, idleTimeoutMs: 60_000 });
  const idle: RawClient[] = [];
  for (let i = 0; i < 4; i++) {
    idle.push(await RawClient.connect(t, server.socketPath));
    await new Promise((r) => setTimeout(r, 20));
  }
  await within(
    (async () => {
      while (server.clientCount < 4) await new Promise((r) => setTimeout(r, 10));
    })(),
    2000,
    'four clients',
  );
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  t.deepEqual(await client.call('echo', { late: true }), { late: true });
  await idle[0]!.closedByServer(2000);
  t.false(idle[1]!.ended || idle[2]!.ended || idle[3]!.ended, 'only the longest-idle one went');
});

test('a socket full of busy clients still says EBUSY to a newcomer', async (t) => {
  const server = await startServer(t, { handlers: echo, streams: { ticks }, maxClients: 2 });
  const watchers = await Promise.all([0, 1].map(() => ControlClient.connect(server.socketPath)));
  t.teardown(() => {
    for (const w of watchers) w.close();
  });
  const streams = watchers.map((w) => w.stream('ticks', {}, () => {}));
  await new Promise((r) => setTimeout(r, 100));
  const raw = await RawClient.connect(t, server.socketPath);
  t.is(((await raw.next())['error'] as { code: string }).code, 'EBUSY');
  await raw.closedByServer();
  for (const w of watchers) w.close();
  await Promise.all(streams);
});
