/**
 * The node's --stun glue (core/node/stunProbe.ts) over real UDP on loopback: a server given by
 * name is resolved, asked, and its answer reaches discovery's hook; status says what each does.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { StunProbe } from '../../core/node/stunProbe.js';
import { epText } from '../helpers/endpoints.js';

const SERVER_SCRIPT = fileURLToPath(new URL('../fixtures/stun-server.js', import.meta.url));

test('a --stun server named localhost:PORT is resolved and asked; its answer is our reflexive endpoint', async (t) => {
  const server = spawn(process.execPath, [SERVER_SCRIPT, '--listen', '127.0.0.1:0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.teardown(() => server.kill('SIGTERM'));
  const [first] = (await once(createInterface({ input: server.stdout! }), 'line')) as [string];
  const port = /^listening 127\.0\.0\.1:(\d+)$/.exec(first)?.[1];
  t.truthy(port, first);

  const socket = createSocket('udp4');
  t.teardown(() => socket.close());
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const seen: [string, string][] = [];
  const logs: string[] = [];
  const probe = new StunProbe([`localhost:${port}`, '127.0.0.1:9'], {
    send: (datagram, to) => socket.send(datagram, to.port, to.address),
    reflexive: (serverEndpoint, endpoint) => seen.push([epText(serverEndpoint), epText(endpoint)]),
    log: (line) => logs.push(line),
  });
  t.teardown(() => probe.stop());
  socket.on('message', (datagram, from) =>
    probe.receive(new Uint8Array(datagram), { address: from.address, port: from.port }),
  );
  await probe.start();
  const deadline = Date.now() + 3000;
  while (seen.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const ours = `127.0.0.1:${socket.address().port}`;
  // localhost may resolve to ::1 first; an IPv4 address is preferred, so the server is 127.0.0.1.
  t.deepEqual(seen[0], [`127.0.0.1:${port}`, ours]);
  t.deepEqual(probe.status(), [
    { server: `localhost:${port}`, resolved: `127.0.0.1:${port}`, reflexive: ours },
    { server: '127.0.0.1:9', resolved: '127.0.0.1:9', reflexive: null },
  ]);
  t.true(
    logs.some((l) => l === `stun: 127.0.0.1:${port} sees this node at ${ours}`),
    logs.join('\n'),
  );
});
