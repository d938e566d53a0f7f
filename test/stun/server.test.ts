/**
 * The client and the test server over real UDP on loopback: the server fixture answers with the
 * address it saw, and the client reports it as our reflexive endpoint.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { StunClient } from '../../core/stun/index.js';

const SERVER_SCRIPT = fileURLToPath(new URL('../fixtures/stun-server.js', import.meta.url));

/** A child's stdout as lines, none missed between reads. */
function outputLines(stream: NodeJS.ReadableStream): { next(): Promise<string> } {
  const iterator = createInterface({ input: stream })[Symbol.asyncIterator]();
  return {
    async next() {
      const { value, done } = await iterator.next();
      if (done) throw new Error('the server exited');
      return value as string;
    },
  };
}

test('the test server tells a client on loopback its own address, which becomes its reflexive endpoint', async (t) => {
  const server = spawn(process.execPath, [SERVER_SCRIPT, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => server.kill('SIGTERM'));
  const lines = outputLines(server.stdout!);
  const first = await lines.next();
  const m = /^listening (127\.0\.0\.1:\d+)$/.exec(first);
  t.truthy(m, first);
  const serverEndpoint = m![1]!;

  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const client = new StunClient({ servers: [serverEndpoint] });
  const [host, port] = serverEndpoint.split(':') as [string, string];
  for (const s of client.start(Date.now()).send) socket.send(s.datagram, Number(port), host);

  const [datagram, from] = (await once(socket, 'message')) as [Buffer, { address: string; port: number }];
  const out = client.receive(datagram, { address: from.address, port: from.port }, Date.now());
  const ours = `127.0.0.1:${socket.address().port}`;
  t.deepEqual(out.events, [{ type: 'reflexive', server: serverEndpoint, endpoint: ours }]);
  const answered = await lines.next();
  t.is(answered, `answered ${ours}`);

  server.kill('SIGTERM');
  const [code] = (await once(server, 'exit')) as [number | null];
  t.is(code, 0, 'SIGTERM ends it cleanly');
});
