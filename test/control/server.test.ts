import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import test from 'ava';
import { ControlClient } from '../../core/control/client.js';
import { ControlError, codeOf } from '../../core/control/controlError.js';
import { ControlServer } from '../../core/control/server.js';
import { OverlayError } from '../../core/errors.js';
import { RawClient, startServer, tempDir, within } from './harness.js';

const echo = { echo: async (params: Record<string, unknown>) => params };

test('a call returns the handler result', async (t) => {
  const server = await startServer(t, {
    handlers: { add: async (p) => (p['a'] as number) + (p['b'] as number) },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  t.is(await client.call('add', { a: 2, b: 3 }), 5);
});

test('a handler returning nothing answers null', async (t) => {
  const server = await startServer(t, { handlers: { nothing: async () => undefined } });
  const raw = await RawClient.connect(t, server.socketPath);
  raw.write('{"id":7,"method":"nothing"}\n');
  t.deepEqual(await raw.next(), { id: 7, result: null });
});

test('an OverlayError keeps its code, message and hint across the socket', async (t) => {
  const server = await startServer(t, {
    handlers: {
      invite: async () => {
        throw new OverlayError('EPERM', 'only admins can invite', { hint: 'ask an admin for an invite' });
      },
    },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('invite'), { instanceOf: OverlayError });
  t.is(e.code, 'EPERM');
  t.is(e.message, 'only admins can invite');
  t.is(e.hint, 'ask an admin for an invite');
});

test('a ControlError keeps its precise code across the socket', async (t) => {
  const server = await startServer(t, {
    handlers: {
      busy: async () => {
        throw new ControlError('EALREADY', 'already doing that');
      },
    },
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('busy'), { instanceOf: ControlError });
  t.is(codeOf(e), 'EALREADY');
});

test('a handler that throws a plain Error (even synchronously) answers EINTERNAL and the server lives on', async (t) => {
  const logged: unknown[] = [];
  const server = await startServer(t, {
    handlers: {
      broken: () => {
        throw new TypeError('x is undefined');
      },
      ...echo,
    },
    onError: (e) => logged.push(e),
  });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('broken'), { instanceOf: OverlayError });
  t.is(e.code, 'EINTERNAL');
  t.regex(e.message, /x is undefined/);
  t.is(logged.length, 1, 'a bug in a handler is reported to the node log');
  t.deepEqual(await client.call('echo', { still: 'here' }), { still: 'here' });
});

test('an unknown method is ENOMETHOD, including names on Object.prototype', async (t) => {
  const server = await startServer(t, { handlers: echo });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  for (const method of ['nope', 'constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    const e = await t.throwsAsync(client.call(method), { instanceOf: ControlError });
    t.is(codeOf(e), 'ENOMETHOD', method);
  }
});

test('malformed requests get an error with id null and the connection stays usable', async (t) => {
  const server = await startServer(t, { handlers: echo });
  const raw = await RawClient.connect(t, server.socketPath);
  for (const bad of ['{not json', '[1,2]', '"hello"', '{"method":"echo"}']) {
    raw.write(`${bad}\n`);
    const answer = await raw.next();
    t.is(answer['id'], null, bad);
    t.is((answer['error'] as { code: string }).code, 'EBADREQUEST', bad);
  }
  raw.write('{"id":1}\n{"id":2,"method":"echo","params":[1]}\n');
  t.is(((await raw.next())['error'] as { code: string }).code, 'EBADREQUEST');
  t.deepEqual((await raw.next())['id'], 2, 'an error keeps the id when the request had one');
  raw.write('{"id":3,"method":"echo","params":{"ok":true}}\n');
  t.deepEqual(await raw.next(), { id: 3, result: { ok: true } });
});

test('a line over the limit gets EBADREQUEST and the connection is closed', async (t) => {
  const server = await startServer(t, { handlers: echo, maxRequestBytes: 1024 });
  const raw = await RawClient.connect(t, server.socketPath);
  // No newline at all: the server must not wait for one, buffering without bound.
  raw.write(Buffer.alloc(4096, 0x61));
  const answer = await raw.next();
  t.is(answer['id'], null);
  t.is((answer['error'] as { code: string }).code, 'EBADREQUEST');
  await raw.closedByServer();
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  t.deepEqual(await client.call('echo', { next: 'client' }), { next: 'client' });
});

test('a result JSON cannot carry becomes an EINTERNAL answer, not a crash', async (t) => {
  const cyclic: Record<string, unknown> = {};
  cyclic['self'] = cyclic;
  const server = await startServer(t, { handlers: { cyclic: async () => cyclic, ...echo } });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  const e = await t.throwsAsync(client.call('cyclic'), { instanceOf: OverlayError });
  t.is(e.code, 'EINTERNAL');
  t.deepEqual(await client.call('echo', { a: 1 }), { a: 1 });
});

test('many clients with many calls in flight each get their own answers', async (t) => {
  const server = await startServer(t, {
    handlers: {
      slowEcho: async (p) => {
        await new Promise((r) => setTimeout(r, Math.random() * 20));
        return p;
      },
    },
  });
  const clients = await Promise.all(
    Array.from({ length: 40 }, () => ControlClient.connect(server.socketPath)),
  );
  t.teardown(() => {
    for (const c of clients) c.close();
  });
  const answers = await within(
    Promise.all(
      clients.flatMap((c, ci) =>
        Array.from({ length: 25 }, async (_, k) =>
          t.deepEqual(await c.call('slowEcho', { ci, k }), { ci, k }),
        ),
      ),
    ),
    10_000,
    '1000 calls',
  );
  t.is(answers.length, 1000);
});

test('requests pipelined beyond the in-flight limit are all answered', async (t) => {
  let running = 0;
  let peak = 0;
  const server = await startServer(t, {
    maxInflightPerClient: 4,
    handlers: {
      work: async (p) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        running--;
        return p['n'];
      },
    },
  });
  const raw = await RawClient.connect(t, server.socketPath);
  raw.write(
    Array.from({ length: 50 }, (_, n) => `{"id":${n},"method":"work","params":{"n":${n}}}\n`).join(''),
  );
  const ids = new Set<unknown>();
  for (let i = 0; i < 50; i++) ids.add((await raw.next())['id']);
  t.is(ids.size, 50);
  t.true(peak <= 4, `at most 4 at once, saw ${peak}`);
});

test('clients over the limit are told EBUSY and closed; the others keep working', async (t) => {
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const server = await startServer(t, { handlers: { ...echo, hold: () => held }, maxClients: 2 });
  const a = await ControlClient.connect(server.socketPath);
  const b = await ControlClient.connect(server.socketPath);
  t.teardown(() => {
    a.close();
    b.close();
  });
  await a.call('echo');
  // Both busy (a request in flight): neither may be closed to make room.
  const holding = [a.call('hold'), b.call('hold')];
  const raw = await RawClient.connect(t, server.socketPath);
  t.is(((await raw.next())['error'] as { code: string }).code, 'EBUSY');
  await raw.closedByServer();
  release();
  await Promise.all(holding);
  t.deepEqual(await a.call('echo', { a: 1 }), { a: 1 });
});

test('a client may shut its sending side and still read the answer (like socat)', async (t) => {
  const server = await startServer(t, { handlers: echo });
  const raw = await RawClient.connect(t, server.socketPath);
  raw.socket.end('{"id":1,"method":"echo","params":{"x":1}}\n');
  t.deepEqual(await raw.next(), { id: 1, result: { x: 1 } });
  await raw.closedByServer();
});

test('the socket is created 0600 in a directory only its owner may write', async (t) => {
  const server = await startServer(t, { handlers: echo });
  const st = fs.lstatSync(server.socketPath);
  t.true(st.isSocket());
  t.is(st.mode & 0o777, 0o600);
});

test('the umask is restored after listen', async (t) => {
  const umask = () => {
    const current = process.umask(0o022);
    process.umask(current);
    return current;
  };
  const before = umask();
  await startServer(t, { handlers: echo });
  t.is(umask(), before);
});

test('a directory others can write is refused', async (t) => {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o777);
  const server = new ControlServer({ socketPath: path.join(dir, 'control.sock'), handlers: echo });
  t.teardown(() => server.close());
  const e = await t.throwsAsync(server.listen(), { instanceOf: OverlayError });
  t.is(e.code, 'ESTATE_DIR');
  t.false(fs.existsSync(path.join(dir, 'control.sock')));
});

test('a socket path too long for sun_path is a clear error', async (t) => {
  const dir = path.join(tempDir(t), 'd'.repeat(100));
  fs.mkdirSync(dir, { mode: 0o700 });
  const server = new ControlServer({ socketPath: path.join(dir, 'control.sock'), handlers: echo });
  const e = await t.throwsAsync(server.listen(), { instanceOf: OverlayError });
  t.is(e.code, 'ESTATE_DIR');
  t.regex(e.message, /too long/);
});

test('a stale socket left by a killed node is replaced', async (t) => {
  const socketPath = path.join(tempDir(t), 'control.sock');
  // A socket file with nobody listening, as kill -9 leaves it: bind without listen.
  const stale = net.createServer();
  await new Promise<void>((resolve) => stale.listen(socketPath, resolve));
  // Closing a net.Server unlinks its socket; hard-link it away first to keep a real socket file.
  fs.linkSync(socketPath, `${socketPath}.keep`);
  await new Promise<void>((resolve) => stale.close(() => resolve()));
  fs.renameSync(`${socketPath}.keep`, socketPath);
  t.true(fs.lstatSync(socketPath).isSocket());

  const server = new ControlServer({ socketPath, handlers: echo });
  t.teardown(() => server.close());
  await server.listen();
  const client = await ControlClient.connect(socketPath);
  t.teardown(() => client.close());
  t.deepEqual(await client.call('echo', { fresh: true }), { fresh: true });
});

test('a live socket makes listen fail with "already running" and leaves the live node alone', async (t) => {
  const first = await startServer(t, { handlers: echo });
  const second = new ControlServer({ socketPath: first.socketPath, handlers: echo });
  t.teardown(() => second.close());
  const e = await t.throwsAsync(second.listen(), { instanceOf: ControlError });
  t.is(codeOf(e), 'EALREADY');
  t.regex(e.message, /already running/);
  await second.close();
  const client = await ControlClient.connect(first.socketPath);
  t.teardown(() => client.close());
  t.deepEqual(await client.call('echo', { first: 1 }), { first: 1 });
});

test('a file that is not a socket is never deleted', async (t) => {
  const socketPath = path.join(tempDir(t), 'control.sock');
  fs.writeFileSync(socketPath, 'precious');
  const server = new ControlServer({ socketPath, handlers: echo });
  const e = await t.throwsAsync(server.listen(), { instanceOf: OverlayError });
  t.is(e.code, 'ESTATE_DIR');
  t.is(fs.readFileSync(socketPath, 'utf8'), 'precious');
});

test('close removes the socket and ends connected clients promptly', async (t) => {
  const server = await startServer(t, { handlers: echo, closeGraceMs: 500 });
  const client = await ControlClient.connect(server.socketPath);
  t.teardown(() => client.close());
  await within(server.close(), 2000, 'server close');
  t.false(fs.existsSync(server.socketPath));
  const e = await t.throwsAsync(client.call('echo'), { instanceOf: ControlError });
  t.is(codeOf(e), 'ECLOSED');
});
