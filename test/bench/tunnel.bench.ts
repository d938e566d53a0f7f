/**
 * Tunnel benchmark: overlay<->overlay against wireguard-go<->wireguard-go on the same veth link
 * between two namespaces, in one run. For each: iperf3 TCP throughput over 10 s, ping RTT through
 * the tunnel, and the CPU seconds both tunnel processes spent per GB carried. Prints medians over
 * several rounds (alternating, so drift on a shared machine hits both alike), then the ratios.
 *
 *   npm run bench                # as root
 *   npm run bench -- --rounds 5 --seconds 10
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Netns, vethPair } from '../helpers/netns.js';
import { newKeys, ping, startTunnelNode } from '../helpers/overlayNode.js';
import { WireguardGo } from '../helpers/wireguardGo.js';
import { cpuSeconds, median } from './measure.js';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, seconds: { type: 'string', default: '10' } },
});
const ROUNDS = Math.max(1, Math.min(20, Number(values.rounds)));
const SECONDS = Math.max(1, Math.min(60, Number(values.seconds)));
const PORT = 51820;
const A_UNDER = '192.0.2.1';
const B_UNDER = '192.0.2.2';

interface Sample {
  mbps: number;
  rttMs: number;
  cpuSecondsPerGB: number;
  retransmits: number;
}

async function measure(a: Netns, b: Netns, pids: number[]): Promise<Sample> {
  // warm up (handshake) and RTT: 40 pings at 50 ms, median
  ping(a, '100.64.0.2', 3, { intervalS: 0.2 });
  const r = ping(a, '100.64.0.2', 40, { intervalS: 0.05 });
  const server = b.spawn('iperf3', ['-s', '-1', '-B', '100.64.0.2'], { stdio: 'ignore' });
  await sleep(300);
  const before = pids.map(cpuSeconds);
  const out = a.exec('iperf3', ['-c', '100.64.0.2', '-t', String(SECONDS), '-J'], (SECONDS + 30) * 1000);
  const after = pids.map(cpuSeconds);
  server.kill('SIGKILL');
  const j = JSON.parse(out) as {
    end: { sum_received: { bits_per_second: number; bytes: number }; sum_sent: { retransmits?: number } };
  };
  const cpu = after.reduce((s, x, i) => s + x - before[i]!, 0);
  const gb = j.end.sum_received.bytes / 1e9;
  return {
    mbps: j.end.sum_received.bits_per_second / 1e6,
    rttMs: median(r.rttsMs),
    cpuSecondsPerGB: cpu / gb,
    retransmits: j.end.sum_sent.retransmits ?? 0,
  };
}

async function overlayRound(a: Netns, b: Netns): Promise<Sample> {
  const ka = newKeys();
  const kb = newKeys();
  const node = (ns: Netns, self: typeof ka, peer: typeof kb, addr: string, peerAddr: string, ep: string) =>
    startTunnelNode(ns, {
      privateKey: self.privateKey,
      listenPort: PORT,
      addresses: [`${addr}/24`],
      peers: [
        { publicKey: peer.publicKey, endpoint: { address: ep, port: PORT }, allowedIps: [`${peerAddr}/32`] },
      ],
    });
  const na = await node(a, ka, kb, '100.64.0.1', '100.64.0.2', B_UNDER);
  const nb = await node(b, kb, ka, '100.64.0.2', '100.64.0.1', A_UNDER);
  try {
    const pids = [na, nb].map((n) => n.events.find((e) => e.event === 'ready')!['pid'] as number);
    return await measure(a, b, pids);
  } finally {
    for (const n of [na, nb]) n.child.kill('SIGTERM');
    await sleep(300);
  }
}

async function wireguardGoRound(a: Netns, b: Netns): Promise<Sample> {
  const ka = newKeys();
  const kb = newKeys();
  const wa = await WireguardGo.start(a, {
    privateKey: ka.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.1/24'],
    peers: [{ publicKey: kb.publicKey, allowedIps: ['100.64.0.2/32'], endpoint: `${B_UNDER}:${PORT}` }],
  });
  const wb = await WireguardGo.start(b, {
    privateKey: kb.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.2/24'],
    peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'], endpoint: `${A_UNDER}:${PORT}` }],
  });
  try {
    return await measure(a, b, [wa.pid!, wb.pid!]);
  } finally {
    wa.stop();
    wb.stop();
    await sleep(300);
  }
}

function row(name: string, s: Sample[]): string {
  const m = (f: (x: Sample) => number) => median(s.map(f));
  return `${name.padEnd(26)}${m((x) => x.mbps)
    .toFixed(0)
    .padStart(10)}${m((x) => x.rttMs)
    .toFixed(3)
    .padStart(12)}${m((x) => x.cpuSecondsPerGB)
    .toFixed(2)
    .padStart(14)}${m((x) => x.retransmits)
    .toFixed(0)
    .padStart(10)}   (${s.map((x) => x.mbps.toFixed(0)).join(', ')})`;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (network namespaces, TUN devices)');
    process.exit(1);
  }
  const a = new Netns('bencha');
  const b = new Netns('benchb');
  try {
    vethPair(a, `${A_UNDER}/24`, b, `${B_UNDER}/24`);
    const overlay: Sample[] = [];
    const wg: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      overlay.push(await overlayRound(a, b));
      wg.push(await wireguardGoRound(a, b));
      console.error(
        `round ${i + 1}/${ROUNDS}: overlay ${overlay.at(-1)!.mbps.toFixed(0)} Mbit/s, wireguard-go ${wg.at(-1)!.mbps.toFixed(0)} Mbit/s`,
      );
    }
    console.log(
      `\niperf3 TCP ${SECONDS} s and ping over a veth link between two namespaces; medians of ${ROUNDS} rounds`,
    );
    console.log(
      `${'tunnel'.padEnd(26)}${'Mbit/s'.padStart(10)}${'RTT ms'.padStart(12)}${'CPU s/GB'.padStart(14)}${'retrans'.padStart(10)}   (each round)`,
    );
    console.log(row('overlay <-> overlay', overlay));
    console.log(row('wireguard-go <-> wg-go', wg));
    const ratio = (f: (x: Sample) => number) => median(overlay.map(f)) / median(wg.map(f));
    console.log(
      `\noverlay / wireguard-go: throughput ${ratio((x) => x.mbps).toFixed(2)}x, RTT ${ratio((x) => x.rttMs).toFixed(2)}x, CPU per GB ${ratio((x) => x.cpuSecondsPerGB).toFixed(2)}x`,
    );
  } finally {
    a.destroy();
    b.destroy();
  }
}

await main();
