import { once } from 'node:events';
import test from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { ControlError, codeOf } from '../../core/control/controlError.js';
import type { StreamHandler } from '../../core/control/server.js';
import { RawClient, startServer, within } from './harness.js';

/** A watch that emits a counter every few ms until the client leaves; tells the test when it ended. */
function ticker(): { watch: StreamHandler; ended: Promise<void> } {
  let markEnded!: () => void;
  const ended = new Promise<void>((resolve) => {
    markEnded = resolve;
  });
  const watch: StreamHandler = async (params, emit, signal) => {
    let n = 0;
    const timer = setInterval(() => emit({ n: n++, label: params['label'] }), 5);
    try {
      await once(signal, 'abort');
    } finally {
      clearInterval(timer);
      markEnded();
    }
  };
  return { watch, ended };
}

test('a stream delivers events in order with the request id', async (t) => {
  const { watch } = ticker();
  const server = await startServer(t, { handlers: {}, streams: { watch } });
  const raw = await RawClient.connect(t, server.socketPath);
  raw.write('{"id":"w1","method":"watch","params":{"label":"x"}}\n');
  for (let i = 0; i < 3; i++) t.deepEqual(await raw.next(), { id: 'w1', event: { n: i, label: 'x' } });
});

test('when the client closes first, the stream stops on the node', async (t) => {
  const { watch, ended } = ticker();
  const server = await startServer(t, { handlers: {}, streams: { watch } });
  const client = await ControlClient.connect(server.socketPath);
  const seen: unknown[] = [];
  const streaming = client.stream('watch', {}, (e) => {
    seen.push(e);
    if (seen.length === 3) client.close();
  });
  await within(streaming, 3000, 'the stream to resolve after close');
  await within(ended, 3000, 'the node to end its stream');
  t.true(seen.length >= 3);
  // The node keeps no connection for the client that left.
  await within(
    (async () => {
      while (server.clientCount > 0) await new Promise((r) => setTimeout(r, 10));
    })(),
    3000,
    'the connection to go',
  );
  t.is(server.clientCount, 0);
});

test('a stream the node ends resolves on the client after all its events', async (t) => {
  const server = await startServer(t, {
    handlers: {},
    streams: {
      three: (_p, emit) => {
        for (let i = 0; i < 3; i++) emit(i);
      },
    },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const seen: unknown[] = [];
  await within(
    client.stream('three', {}, (e) => seen.push(e)),
    3000,
    'stream end',
  );
  t.deepEqual(seen, [0, 1, 2]);
});

test('calls still work on the connection a stream runs on', async (t) => {
  const { watch } = ticker();
  const server = await startServer(t, { handlers: { ping: async () => 'pong' }, streams: { watch } });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  let events = 0;
  void client.stream('watch', {}, () => events++);
  t.is(await client.call('ping'), 'pong');
  await within(
    (async () => {
      while (events < 2) await new Promise((r) => setTimeout(r, 5));
    })(),
    3000,
    'events',
  );
  t.true(events >= 2);
});

test('a stream that fails sends its error to the client', async (t) => {
  const server = await startServer(t, {
    handlers: {},
    streams: {
      broken: async () => {
        throw new ControlError('EBUSY', 'too many watchers');
      },
    },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(
    client.stream('broken', {}, () => {}),
    { instanceOf: ControlError },
  );
  t.is(codeOf(e), 'EBUSY');
});

test('when the node shuts down, a watching client is told the connection closed', async (t) => {
  const { watch, ended } = ticker();
  const server = await startServer(t, { handlers: {}, streams: { watch }, closeGraceMs: 200 });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  let first!: () => void;
  const gotOne = new Promise<void>((resolve) => {
    first = resolve;
  });
  const streaming = client.stream('watch', {}, () => first());
  await within(gotOne, 3000, 'first event');
  await within(server.close(), 3000, 'server close');
  const e = await t.throwsAsync(streaming, { instanceOf: ControlError });
  t.is(codeOf(e), 'ECLOSED');
  await within(ended, 1000, 'stream end on the node');
});

test('a client that never reads its stream is dropped rather than buffered without bound', async (t) => {
  const server = await startServer(t, {
    handlers: {},
    maxUnreadBytesPerClient: 64 * 1024,
    streams: {
      flood: async (_p, emit, signal) => {
        const big = 'x'.repeat(4096);
        while (!signal.aborted) {
          emit(big);
          await new Promise((r) => setImmediate(r));
        }
      },
    },
  });
  const raw = await RawClient.connect(t, server.socketPath);
  raw.socket.pause();
  raw.write('{"id":1,"method":"flood"}\n');
  await within(
    (async () => {
      while (server.clientCount > 0) await new Promise((r) => setTimeout(r, 10));
    })(),
    5000,
    'the slow client to be dropped',
  );
  t.is(server.clientCount, 0);
});
