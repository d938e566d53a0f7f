/** The kernel's drop count of a UDP socket, read from /proc/net/udp: no root needed. */
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import test from 'ava';
import { kernelDrops } from '../../core/dns/kernelDrops.js';

test('a bound socket is found with no drops; a port nobody holds is not found', async (t) => {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  const port = socket.address().port;
  t.is(kernelDrops('127.0.0.1', port), 0);
  t.is(kernelDrops('127.0.0.2', port), undefined);
});

test('datagrams beyond a full receive queue are counted', async (t) => {
  // A socket with a tiny queue that never reads: python, so this process's event loop is free.
  const child = spawn('python3', [
    '-c',
    'import socket,sys,time\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\ns.setsockopt(socket.SOL_SOCKET,socket.SO_RCVBUF,1)\ns.bind(("127.0.0.1",0))\nprint(s.getsockname()[1],flush=True)\ntime.sleep(20)',
  ]);
  t.teardown(() => child.kill('SIGKILL'));
  const port = Number(
    await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d)))),
  );
  const sender = dgram.createSocket('udp4');
  t.teardown(() => sender.close());
  for (let i = 0; i < 200; i++) {
    await new Promise<void>((resolve) => sender.send(Buffer.alloc(64), port, '127.0.0.1', () => resolve()));
  }
  const drops = kernelDrops('127.0.0.1', port);
  t.true(drops !== undefined && drops > 100, `drops: ${drops}`);
});
