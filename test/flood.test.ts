/**
 * Hostile input at the tunnel's port: an on-path relay floods a node with random datagrams,
 * truncated WireGuard headers, forged transport messages and replays of the real traffic it
 * carried, for 10 s. The established tunnel must keep passing pings, every bad datagram must be
 * dropped and counted, and the node's memory must stay flat.
 */
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { JsonLinesChild } from './helpers/jsonLines.js';
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
  vethPair(a, '192.0.2.1/24', m, '192.0.2.2/24');
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

  relay.command({ cmd: 'flood', seconds: 10, perTick: 200 });
  await new Promise((r) => setTimeout(r, 1000)); // let allocations from the flood's start settle
  const before = await na.request({ cmd: 'status' }, 'status');
  const during = ping(a, '100.64.0.2', 80, { intervalS: 0.1 }); // 8 s of pings while the flood runs
  const flooded = await relay.waitFor('the flood to end', (e) => e.event === 'flooded', 20_000);
  const after = await na.request({ cmd: 'status' }, 'status');

  t.true(during.received >= 76, `pings during the flood: ${during.received}/80\n${during.output}`);
  const stats = after['stats'] as Record<string, number>;
  const dropped =
    stats['rxJunk']! +
    stats['rxReplay']! +
    stats['rxUnknownIndex']! +
    stats['rxAuthFailed']! +
    stats['rxControl']!;
  t.true((flooded['sent'] as number) > 50_000, `flood size: ${flooded['sent']}`);
  t.true(stats['rxReplay']! > 1000, JSON.stringify(stats));
  t.true(stats['rxJunk']! > 1000, JSON.stringify(stats));
  t.true(stats['rxUnknownIndex']! > 1000, JSON.stringify(stats));
  t.true(dropped > 0.5 * (flooded['sent'] as number), `dropped ${dropped} of ${flooded['sent']}`);
  const growthMb = ((after['rss'] as number) - (before['rss'] as number)) / 2 ** 20;
  t.log(
    `flood: ${flooded['sent']} datagrams (${flooded['replays']} replays); pings ${during.received}/80; rss growth ${growthMb.toFixed(1)} MB`,
  );
  t.true(growthMb < 16, `rss grew by ${growthMb.toFixed(1)} MB during the flood`);
  // the tunnel still works after the flood, in both directions
  t.is(ping(b, '100.64.0.1', 3, { intervalS: 0.1 }).received, 3);
});
