/**
 * The data path where the kernel refuses UDP offloads (issue 12, point 2): GSO refused when the
 * node starts, GSO refused at send time on a route that cannot segment, GRO refused at start.
 * Each is counted, and the traffic still flows without loss. The refusals come from a shim
 * (test/fixtures/refuse-offloads.cc, LD_PRELOAD into one node's process) because this machine's
 * kernel refuses none of them on anything a test can build; it mimics the kernel's answers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { B_OVER, relayWorld } from '../fixtures/relay-world.js';
import type { Netns } from '../helpers/netns.js';
import { rootTest } from '../helpers/root.js';

const source = fileURLToPath(new URL('../../../test/fixtures/refuse-offloads.cc', import.meta.url));
let shim = '';

test.before(() => {
  if (process.getuid?.() !== 0) return;
  const dir = mkdtempSync(join(tmpdir(), 'overlay-refuse-'));
  shim = join(dir, 'refuse-offloads.so');
  execFileSync('g++', ['-shared', '-fPIC', '-O1', '-o', shim, source, '-ldl']);
});
test.after.always(() => {
  if (shim) rmSync(join(shim, '..'), { recursive: true, force: true });
});

const refusing = (mode: string) => ({ LD_PRELOAD: shim, OVERLAY_TEST_REFUSE: mode });

/** One iperf3 TCP stream from A to B for 2 s (segments sized to fit the relayed route); bytes sent. */
function stream(nsA: Netns, nsB: Netns): number {
  const server = nsB.spawn('iperf3', ['-s', '-1', '-B', B_OVER], { stdio: 'ignore' });
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    const out = nsA.exec('iperf3', ['-c', B_OVER, '-t', '2', '-M', '1200', '-J'], 30_000);
    return (JSON.parse(out) as { end: { sum_received: { bytes: number } } }).end.sum_received.bytes;
  } finally {
    server.kill('SIGKILL');
  }
}

rootTest(
  test,
  'UDP GSO refused at send time: counted, the run sent again one by one, GSO off for that socket only',
  async (t) => {
    const { a, m, nsA, nsB } = await relayWorld(t, 'orS', { a: refusing('gso-send') });
    const received = stream(nsA, nsB);
    const [sa, sm] = await Promise.all([a.stats(), m.stats()]);
    t.log(
      `received ${received} bytes; a: udpGsoRefused ${sa['udpGsoRefused']}, udpGsoSent ${sa['udpGsoSent']}, txPackets ${sa['txPackets']}`,
    );
    t.true(received > 10_000_000, `the stream moved ${received} bytes`);
    // Two threads send on the socket (the send thread and the relay's forwarding); each may meet
    // the refusal once before GSO is off for both.
    t.true(sa['udpGsoRefused']! >= 1 && sa['udpGsoRefused']! <= 2, `refused ${sa['udpGsoRefused']}`);
    t.is(sa['udpGsoSent'], 0, 'no run was sent after the refusal');
    t.is(sa['txSendFailed'], 0, 'the refused run was not lost: it went again, datagram by datagram');
    t.is(sa['relayedOut'], sa['txPackets'], 'every packet read from the TUN left as an envelope');
    t.log(`m: relayForwarded ${sm['relayForwarded']} rxDatagrams ${sm['rxDatagrams']}`);
    // The relay's kernel segments: it still forwards in runs.
    t.is(sm['udpGsoRefused'], 0);
    t.true(sm['udpGsoSent']! > 0);
  },
);

rootTest(
  test,
  'UDP GSO refused when the data path starts: counted, and datagrams go one per message',
  async (t) => {
    const { a, m, nsA, nsB } = await relayWorld(t, 'orG', { a: refusing('gso-start') });
    const received = stream(nsA, nsB);
    const [sa, sm] = await Promise.all([a.stats(), m.stats()]);
    t.true(received > 10_000_000, `the stream moved ${received} bytes`);
    t.is(sa['udpGsoRefused'], 1);
    t.is(sa['udpGsoSent'], 0);
    t.is(sa['txSendFailed'], 0);
    t.true(sm['udpGsoSent']! > 0, 'the relay still sends runs');
  },
);

rootTest(
  test,
  'UDP GRO refused when the data path starts: counted, and datagrams come one per message',
  async (t) => {
    const { b, m, nsA, nsB } = await relayWorld(t, 'orR', { b: refusing('gro-start') });
    const received = stream(nsA, nsB);
    const [sb, sm] = await Promise.all([b.stats(), m.stats()]);
    t.true(received > 10_000_000, `the stream moved ${received} bytes`);
    t.is(sb['udpGroRefused'], 1);
    t.is(sb['udpGroReceived'], 0, 'no coalesced datagrams on a socket without GRO');
    t.log(
      `b: rxTransport ${sb['rxTransport']} relayedIn ${sb['relayedIn']} rxDatagrams ${sb['rxDatagrams']}; m: relayForwarded ${sm['relayForwarded']}`,
    );
    t.is(sm['udpGroRefused'], 0);
  },
);
