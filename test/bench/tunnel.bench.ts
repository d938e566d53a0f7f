/**
 * Tunnel benchmark (issue 12, point 6): overlay<->overlay against both wireguard-go builds
 * (bookworm's 0.0.20220316 on PATH, and backports' 0.0.20231211, fetched into a cache dir by
 * wireguardGoBuilds.ts) on the same veth link between two namespaces, in one run. For each, per
 * round: iperf3 TCP with one stream and with four, a UDP rate of 64-byte datagrams (packets/s
 * received), ping RTT idle and under the one-stream load, the CPU seconds both tunnel processes
 * spent per GB carried (one stream), TCP retransmits, and the TX drops of both tunnel devices
 * (ip -s link) during the TCP tests and during the UDP flood (iperf3 -b 0 sends faster than any
 * tunnel carries, so a device queue overflows there by design). Prints medians over several rounds (alternating, so drift on a
 * shared machine hits all alike), then the ratios to the newer wireguard-go. Then, beside them,
 * overlay's hole-punched and relayed pairs from bench:paths' world (pathsWorld.ts: namespaces,
 * NATs, one pair forced through a relay member), one iperf3 TCP stream of 5 s each, as many rounds.
 *
 *   npm run bench                # as root
 *   npm run bench -- --rounds 5 --seconds 10
 *   npm run bench -- --skip-paths   # without the pairs through NATs
 */

import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { linkCounters } from '../helpers/kernelCounters.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { newKeys, ping, startTunnelNode } from '../helpers/overlayNode.js';
import { WireguardGo } from '../helpers/wireguardGo.js';
import { cpuSeconds, median } from './measure.js';
import { type PairSamples, pathsRound } from './pathsWorld.js';
import { BACKPORTS_VERSION, backportsWireguardGo } from './wireguardGoBuilds.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    'skip-paths': { type: 'boolean', default: false },
  },
});
const ROUNDS = Math.max(1, Math.min(20, Number(values.rounds)));
const SECONDS = Math.max(1, Math.min(60, Number(values.seconds)));
const PORT = 51820;
const A_UNDER = '192.0.2.1';
const B_UNDER = '192.0.2.2';

interface Sample {
  mbps: number;
  mbps4: number;
  udpPps: number;
  rttMs: number;
  rttLoadMs: number;
  cpuSecondsPerGB: number;
  retransmits: number;
  /** TX drops of both tunnel devices during the TCP tests, and during the UDP flood. */
  tcpDrops: number;
  udpDrops: number;
}

interface Iperf {
  end: {
    sum_received?: { bits_per_second: number; bytes: number };
    sum_sent?: { retransmits?: number };
    sum?: { packets: number; lost_packets: number; seconds: number };
  };
}

function iperf(a: Netns, b: Netns, args: string[]): Iperf {
  const server = b.spawn('iperf3', ['-s', '-1', '-B', '100.64.0.2'], { stdio: 'ignore' });
  try {
    execSleep(300);
    return JSON.parse(a.exec('iperf3', ['-c', '100.64.0.2', '-J', ...args], (SECONDS + 30) * 1000)) as Iperf;
  } finally {
    server.kill('SIGKILL');
  }
}

function execSleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

async function measure(a: Netns, b: Netns, pids: number[], ifnames: [string, string]): Promise<Sample> {
  const drops = () => linkCounters(a, ifnames[0]).txDropped + linkCounters(b, ifnames[1]).txDropped;
  const dropsBefore = drops();
  // warm up (handshake) and idle RTT: 40 pings at 50 ms, median
  ping(a, '100.64.0.2', 3, { intervalS: 0.2 });
  const idle = ping(a, '100.64.0.2', 40, { intervalS: 0.05 });
  // One stream, with pings alongside it for the RTT under load.
  const pinger = a.spawn('ping', ['-n', '-i', '0.1', '-c', String(SECONDS * 10 - 10), '100.64.0.2'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let pings = '';
  pinger.stdout!.on('data', (d: Buffer) => {
    pings += d.toString();
  });
  const before = pids.map(cpuSeconds);
  const one = iperf(a, b, ['-t', String(SECONDS)]);
  const after = pids.map(cpuSeconds);
  await new Promise<void>((resolve) =>
    pinger.exitCode !== null ? resolve() : pinger.once('exit', () => resolve()),
  );
  const loaded = [...pings.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const four = iperf(a, b, ['-t', String(SECONDS), '-P', '4']);
  const dropsTcp = drops();
  const udpSeconds = Math.max(2, Math.round(SECONDS / 2));
  const udp = iperf(a, b, ['-t', String(udpSeconds), '-u', '-b', '0', '-l', '64']);
  const cpu = after.reduce((s, x, i) => s + x - before[i]!, 0);
  const gb = one.end.sum_received!.bytes / 1e9;
  const u = udp.end.sum!;
  return {
    mbps: one.end.sum_received!.bits_per_second / 1e6,
    mbps4: four.end.sum_received!.bits_per_second / 1e6,
    udpPps: (u.packets - u.lost_packets) / u.seconds,
    rttMs: median(idle.rttsMs),
    rttLoadMs: loaded.length ? median(loaded) : Number.NaN,
    cpuSecondsPerGB: cpu / gb,
    retransmits: one.end.sum_sent?.retransmits ?? 0,
    tcpDrops: dropsTcp - dropsBefore,
    udpDrops: drops() - dropsTcp,
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
    const ready = [na, nb].map((n) => n.events.find((e) => e.event === 'ready')!);
    return await measure(
      a,
      b,
      ready.map((e) => e['pid'] as number),
      [ready[0]!['ifname'] as string, ready[1]!['ifname'] as string],
    );
  } finally {
    for (const n of [na, nb]) n.child.kill('SIGTERM');
    await sleep(300);
  }
}

async function wireguardGoRound(a: Netns, b: Netns, binary?: string): Promise<Sample> {
  const ka = newKeys();
  const kb = newKeys();
  const wa = await WireguardGo.start(a, {
    privateKey: ka.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.1/24'],
    peers: [{ publicKey: kb.publicKey, allowedIps: ['100.64.0.2/32'], endpoint: `${B_UNDER}:${PORT}` }],
    binary,
  });
  const wb = await WireguardGo.start(b, {
    privateKey: kb.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.2/24'],
    peers: [{ publicKey: ka.publicKey, allowedIps: ['100.64.0.1/32'], endpoint: `${A_UNDER}:${PORT}` }],
    binary,
  });
  try {
    return await measure(a, b, [wa.pid!, wb.pid!], [wa.ifname, wb.ifname]);
  } finally {
    wa.stop();
    wb.stop();
    await sleep(300);
  }
}

const COLUMNS: [string, (x: Sample) => number, number][] = [
  ['1 stream Mbit/s', (x) => x.mbps, 0],
  ['4 streams', (x) => x.mbps4, 0],
  ['UDP 64B pkt/s', (x) => x.udpPps, 0],
  ['RTT idle ms', (x) => x.rttMs, 3],
  ['RTT load ms', (x) => x.rttLoadMs, 3],
  ['CPU s/GB', (x) => x.cpuSecondsPerGB, 2],
  ['retrans', (x) => x.retransmits, 0],
  ['TCP drops', (x) => x.tcpDrops, 0],
  ['UDP drops', (x) => x.udpDrops, 0],
];

function row(name: string, s: Sample[]): string {
  const cells = COLUMNS.map(([title, f, digits]) =>
    median(s.map(f))
      .toFixed(digits)
      .padStart(title.length + 2),
  );
  return `${name.padEnd(28)}${cells.join('')}   (1 stream: ${s.map((x) => x.mbps.toFixed(0)).join(', ')})`;
}

/** bench:paths' world, ROUNDS times, with iperf3 over each pair once its path settled. */
async function pairRounds(): Promise<PairSamples[]> {
  const rounds: PairSamples[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    rounds.push(await pathsRound(i, { throughput: true, idle: false, logs: false, slowMs: 0 }));
    const r = rounds.at(-1)!;
    console.error(
      `pairs round ${i + 1}/${ROUNDS}: hole-punched ${r.holePunched.mbps}, relayed ${r.relayed.mbps} Mbit/s`,
    );
  }
  return rounds;
}

/** The pairs as rows of the table: one stream only (the other columns need the veth link's setup). */
function printPairs(rounds: PairSamples[]): void {
  for (const [name, kind] of [
    ['overlay hole-punched (NATs)', 'holePunched'],
    ['overlay relayed (NATs)', 'relayed'],
  ] as const) {
    const mbps = rounds.map((r) => r[kind].mbps ?? 0);
    const [first, ...rest] = COLUMNS.map(([title]) => title.length + 2);
    const cells = `${median(mbps).toFixed(0).padStart(first!)}${rest.map((w) => '-'.padStart(w)).join('')}`;
    console.log(`${name.padEnd(28)}${cells}   (1 stream: ${mbps.join(', ')})`);
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench: needs root (network namespaces, TUN devices)');
    process.exit(1);
  }
  const backports = backportsWireguardGo();
  const a = new Netns('bencha');
  const b = new Netns('benchb');
  try {
    vethPair(a, `${A_UNDER}/24`, b, `${B_UNDER}/24`);
    const tunnels: [string, (a: Netns, b: Netns) => Promise<Sample>][] = [
      ['overlay <-> overlay', overlayRound],
      ['wg-go 0.0.20220316 (PATH)', (x, y) => wireguardGoRound(x, y)],
      [`wg-go ${BACKPORTS_VERSION}`, (x, y) => wireguardGoRound(x, y, backports)],
    ];
    const samples: Sample[][] = tunnels.map(() => []);
    for (let i = 0; i < ROUNDS; i++) {
      for (const [t, [, round]] of tunnels.entries()) samples[t]!.push(await round(a, b));
      console.error(
        `round ${i + 1}/${ROUNDS}: ${tunnels.map(([name], t) => `${name} ${samples[t]!.at(-1)!.mbps.toFixed(0)}`).join(', ')} Mbit/s`,
      );
    }
    console.log(
      `\niperf3 over a veth link between two namespaces, ${SECONDS} s per test; medians of ${ROUNDS} rounds`,
    );
    console.log(
      `${'tunnel'.padEnd(28)}${COLUMNS.map(([title]) => title.padStart(title.length + 2)).join('')}`,
    );
    for (const [t, [name]] of tunnels.entries()) console.log(row(name, samples[t]!));
    const newest = samples[2]!;
    const ratio = (f: (x: Sample) => number) => median(samples[0]!.map(f)) / median(newest.map(f));
    if (!values['skip-paths']) printPairs(await pairRounds());
    console.log(
      `\noverlay / wireguard-go ${BACKPORTS_VERSION}: 1 stream ${ratio((x) => x.mbps).toFixed(2)}x, 4 streams ${ratio((x) => x.mbps4).toFixed(2)}x, UDP 64B ${ratio((x) => x.udpPps).toFixed(2)}x, RTT idle ${ratio((x) => x.rttMs).toFixed(2)}x, RTT under load ${ratio((x) => x.rttLoadMs).toFixed(2)}x, CPU per GB ${ratio((x) => x.cpuSecondsPerGB).toFixed(2)}x`,
    );
  } finally {
    a.destroy();
    b.destroy();
  }
}

await main();
