/**
 * Hostile input at the tunnel's port: an on-path relay floods a node with random datagrams,
 * truncated WireGuard headers, forged transport messages and replays of the real traffic it
 * carried, for 10 s. The established tunnel must keep passing pings, every bad datagram must be
 * dropped and counted in exactly one counter — in the data path, or by the tunnel for what went
 * up to JavaScript — nothing forged may reach the TUN, and the node's memory must stay flat.
 */
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  assertEveryDatagramCounted,
  movedCounters,
  settledTunnelStatus,
  type TunnelNodeStatus,
  tunnelStatus,
} from './helpers/datagramAccounting.js';
import { JsonLinesChild } from './helpers/jsonLines.js';
import { linkCounters, udpInErrors } from './helpers/kernelCounters.js';
import { Netns, vethPair } from './helpers/netns.js';
import { newKeys, ping, startTunnelNode } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

const MITM = fileURLToPath(new URL('fixtures/udp-mitm.js', import.meta.url));
const PORT = 51820;
const RELAY_PORT = 40000;

rootTest(test, 'a 10 s junk and replay flood leaves the tunnel working and memory flat', async (t) => {
  const a = new Netns('flda');
  t.teardown(() => a.destroy());
  const m = new Netns('fldm');
  t.teardown(() => m.destroy());
  const b = new Netns('fldb');
  t.teardown(() => b.destroy());
  const am = vethPair(a, '192.0.2.1/24', m, '192.0.2.2/24');
  vethPair(m, '198.51.100.1/24', b, '198.51.100.2/24');

  const relay = new JsonLinesChild(
    m.spawn(process.execPath, [MITM], { stdio: ['pipe', 'pipe', 'inherit'] }),
    'relay',
  );
  relay.command({
    a: { bind: '192.0.2.2', port: RELAY_PORT, target: '192.0.2.1', targetPort: PORT },
    b: { bind: '198.51.100.1', port: RELAY_PORT },
  });
  await relay.waitFor('the relay to bind', (e) => e.event === 'ready');

  const count = async () => {
    const since = relay.events.length;
    relay.command({ cmd: 'count' });
    return (await relay.waitFor('the relay to count', (e) => e.event === 'count', 10_000, since))[
      'forwardedToA'
    ] as number;
  };
  // Datagrams the kernel dropped on their way to A: on the link, or at A's full socket.
  const kernelDrops = () =>
    udpInErrors(a) + linkCounters(a, am.ifA).rxDropped + linkCounters(m, am.ifB).txDropped;

  const ka = newKeys();
  const kb = newKeys();
  const na = await startTunnelNode(a, {
    privateKey: ka.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.1/24'],
    peers: [{ publicKey: kb.publicKey, allowedIps: ['100.64.0.2/32'] }], // learns b's address from b
  });
  await startTunnelNode(b, {
    privateKey: kb.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.2/24'],
    peers: [
      {
        publicKey: ka.publicKey,
        endpoint: { address: '198.51.100.1', port: RELAY_PORT },
        allowedIps: ['100.64.0.1/32'],
      },
    ],
  });
  // b initiates through the relay; some pings give the relay real traffic to replay.
  t.is(ping(b, '100.64.0.1', 5, { intervalS: 0.1 }).received, 5);
  t.is(ping(a, '100.64.0.2', 5, { intervalS: 0.1 }).received, 5);
  await new Promise((r) => setTimeout(r, 300)); // the pings' last replies are in

  const tunA = na.events.find((e) => e.event === 'ready')!['ifname'] as string;
  // A's counters and the relay's count of what it forwarded, at a moment nothing moved between them.
  const quiet = async () => {
    for (let i = 0; i < 20; i++) {
      const forwarded = await count();
      const s = await settledTunnelStatus(na);
      const again = await tunnelStatus(na);
      if ((await count()) === forwarded && again.stats.rxDatagrams === s.stats.rxDatagrams)
        return { s, forwarded };
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the relay never stopped forwarding');
  };
  const { s: before, forwarded: forwardedBefore } = await quiet();
  const tunBefore = linkCounters(a, tunA).rxPackets;
  const kernelBefore = kernelDrops();
  relay.command({ cmd: 'flood', seconds: 10, perTick: 200 });
  await new Promise((r) => setTimeout(r, 1000)); // let allocations from the flood's start settle
  const rssBefore = (await tunnelStatus(na)).rss;
  const during = ping(a, '100.64.0.2', 80, { intervalS: 0.1 }); // 8 s of pings while the flood runs
  const flooded = await relay.waitFor('the flood to end', (e) => e.event === 'flooded', 30_000);
  const quietAfter = await quiet();
  const after = quietAfter.s;
  const forwarded = quietAfter.forwarded - forwardedBefore;
  const tunDelivered = linkCounters(a, tunA).rxPackets - tunBefore;
  const kernelDropped = kernelDrops() - kernelBefore;

  const d = (f: (s: TunnelNodeStatus) => number) => f(after) - f(before);
  const sent = flooded['sent'] as number;
  const growthMb = (after.rss - rssBefore) / 2 ** 20;
  t.log(
    `flood: ${sent} datagrams (${flooded['replays']} replays) and ${forwarded} real ones; pings ${during.received}/80; ` +
      `rss growth ${growthMb.toFixed(1)} MB; kernel drops ${kernelDropped}`,
  );
  t.log(`A's counters that moved: ${JSON.stringify(movedCounters(after.stats, before.stats))}`);

  t.true(during.received >= 76, `pings during the flood: ${during.received}/80\n${during.output}`);
  t.true(sent > 10_000, `flood size: ${sent}`); // the relay's own rate: 1k-20k/s, as the shared CPU allows
  t.is(flooded['sendFailed'], 0);
  t.true(d((s) => s.stats.rxReplay) > 1000);
  t.true(d((s) => s.stats.rxJunk) > 1000);
  t.true(d((s) => s.stats.rxUnknownIndex) > 1000);
  // Every datagram sent to A arrived or was counted by the kernel; each one A got was B's, or
  // ends in exactly one counter; nothing forged reached the TUN.
  assertEveryDatagramCounted(t, { before, after, sent: sent + forwarded, kernelDropped, tunDelivered });
  t.true(tunDelivered >= during.received);
  t.true(growthMb < 16, `rss grew by ${growthMb.toFixed(1)} MB during the flood`);
  // the tunnel still works after the flood, in both directions
  t.is(ping(b, '100.64.0.1', 3, { intervalS: 0.1 }).received, 3);
});
