/**
 * The data path delivers a peer's packets to this node's own addresses only (DataPathOptions
 * addresses, issue 14), here on the memory twin that whole-node tests run on: a peer that routes
 * another network's range into its tunnel to us gets nothing delivered, counted. The native data
 * path is held to it end to end in test/networks/isolation.test.ts.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import type { DataPathEvent } from 'tun-napi';
import { SimNet } from '../discovery/netSim.js';
import { seededUniform } from '../helpers/seeded.js';
import { buildUdpPacket } from '../helpers/tun-packets.js';
import { MemoryDataPath } from './memoryDataPath.js';
import { MemoryTun } from './memoryTun.js';
import { scenarioClock, until } from './scenarioClock.js';

const clock = scenarioClock('real');

test("a peer's packets to addresses not ours are dropped and counted; to ours, delivered", async (t) => {
  const net = new SimNet({ random: seededUniform(5), clock: 'real', internetLatencyMs: 1 });
  t.teardown(() => net.close());
  const open = (name: string, ip: string, addresses?: string[]) => {
    const tun = new MemoryTun();
    tun.up();
    const events: DataPathEvent[] = [];
    const options = addresses ? { port: 0, addresses } : { port: 0 };
    const dp = new MemoryDataPath(tun, options, (e) => events.push(...e), { net, name, ip });
    t.teardown(() => dp.close());
    return { tun, dp, endpoint: `${ip}:${dp.port}` };
  };
  // b is 100.64.0.2 in this network; 100.80.0.0/16 and fd80::/64 are another network's, on b's host.
  const a = open('a', '192.0.2.1');
  const b = open('b', '192.0.2.2', ['100.64.0.2/32', 'fd64::2/128']);
  // a claims b routes the other network too, as a hostile member's data path would.
  a.dp.setPeer(1, ['100.64.0.2/32', 'fd64::2/128', '100.80.0.0/16', 'fd80::/64'], b.endpoint);
  b.dp.setPeer(7, ['100.64.0.1/32', 'fd64::1/128'], a.endpoint);
  const [k1, k2] = [new Uint8Array(randomBytes(32)), new Uint8Array(randomBytes(32))];
  a.dp.installSession(1, { localIndex: 11, remoteIndex: 22, sendKey: k1, receiveKey: k2, initiator: true });
  b.dp.installSession(7, { localIndex: 22, remoteIndex: 11, sendKey: k2, receiveKey: k1, initiator: false });
  const udp = (src: string, dst: string) =>
    buildUdpPacket({ src, dst, srcPort: 4000, dstPort: 5000, payload: Buffer.from('x') });
  for (const dst of ['100.80.0.9', '100.80.255.1', '100.64.0.3']) a.tun.inject(udp('100.64.0.1', dst));
  a.tun.inject(udp('fd64::1', 'fd80::9'));
  a.tun.inject(udp('100.64.0.1', '100.64.0.2'));
  a.tun.inject(udp('fd64::1', 'fd64::2'));
  await until(clock, 'b to have handled the five a sent', 5_000, () => b.dp.stats().rxTransport >= 5);
  t.is(b.dp.stats().rxDestinationDenied, 3);
  // 100.64.0.3 is in no peer's allowed IPs at a: never sent.
  t.is(a.dp.stats().txNoRoute, 1);
  t.deepEqual(
    b.tun.delivered.map((p) => (p[0]! >> 4 === 4 ? [...p.subarray(16, 20)].join('.') : 'v6')),
    ['100.64.0.2', 'v6'],
  );
});
