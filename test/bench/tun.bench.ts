/**
 * Micro-benchmark of tun-napi's batch read and write: packets per second by batch size and
 * packet size, and the CPU an idle, armed TUN costs. Run with `npm run bench:tun` as root.
 *
 * The parent makes a namespace and re-runs this file inside it (`--inside`); the TUN lives
 * there. Reads are fed by a flood sender in a second process (`--flood SIZE`): a Node UDP socket
 * sending to 100.64.0.2 through the TUN, so read rates are capped by what that sender offers
 * (shown as "offered"). Writes are crafted packets to a socket bound on 100.64.0.1, counted by
 * writeBatch and checked against the kernel's interface counter.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Tun } from 'tun-napi';
import { Netns } from '../helpers/netns.js';
import { buildUdpPacket } from '../helpers/tun-packets.js';

const self = fileURLToPath(import.meta.url);
const DEVICE = 'ovlbench';
const LOCAL = '100.64.0.1';
const PEER = '100.64.0.2';
const SLOT = 2048;
const PACKET_SIZES = [64, 1400]; // whole IP packets
const BATCH_SIZES = [1, 32, 64];
const RUNS = 3;
const WINDOW_MS = 1000;
const IDLE_MS = 3000;
const INSIDE_TIMEOUT_MS = 180_000;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
};
const kpps = (pps: number): string => `${(pps / 1000).toFixed(0)}k`;

function counter(name: string): number {
  // /sys is remounted per namespace by `ip netns exec`, so these are the namespace's counters.
  return Number(readFileSync(`/sys/class/net/${DEVICE}/statistics/${name}`, 'utf8'));
}

/** Sends IP packets of `size` bytes to the peer as fast as one Node socket can, until killed. */
function flood(size: number): void {
  const socket = dgram.createSocket('udp4');
  const payload = Buffer.alloc(size - 28, 0x6f);
  socket.bind(0, LOCAL, () => {
    socket.connect(9, PEER, () => {
      const burst = (): void => {
        // Sends the kernel cannot take at once queue in libuv; an unbounded queue would grow
        // the heap and let the sender's GC steal the reader's CPU as the run goes on.
        if (socket.getSendQueueCount() < 256) for (let i = 0; i < 64; i++) socket.send(payload);
        setImmediate(burst);
      };
      burst();
    });
  });
}

async function measureIdle(tun: Tun): Promise<{ cpuMs: number; percent: number; packets: number }> {
  const buf = Buffer.alloc(64 * SLOT);
  const lens = new Uint32Array(64);
  let packets = 0;
  tun.onReadable(() => {
    packets += tun.readBatch(buf, lens, SLOT);
  });
  const before = process.cpuUsage();
  const start = performance.now();
  await sleep(IDLE_MS);
  const used = process.cpuUsage(before);
  const elapsed = performance.now() - start;
  tun.stopReading();
  const cpuMs = (used.user + used.system) / 1000;
  return { cpuMs, percent: (100 * cpuMs) / elapsed, packets };
}

interface ReadRow {
  size: number;
  batch: number;
  readPps: number;
  offeredPps: number;
}

async function measureRead(tun: Tun, size: number): Promise<ReadRow[]> {
  const sender: ChildProcess = spawn(process.execPath, [self, '--flood', String(size)], { stdio: 'inherit' });
  const buf = Buffer.alloc(64 * SLOT);
  const lens = new Uint32Array(64);
  let batch = 1;
  let read = 0;
  tun.onReadable(() => {
    // Bounded, so timers still run under a flood; what is left is announced again.
    for (let i = 0; i < 256; i++) {
      const n = tun.readBatch(buf, lens, SLOT, batch);
      read += n;
      if (n < batch) break;
    }
  });
  const rows: ReadRow[] = [];
  try {
    await sleep(500); // sender start-up and warm-up
    for (const b of BATCH_SIZES) {
      batch = b;
      const readRates: number[] = [];
      const offeredRates: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        const read0 = read;
        const offered0 = counter('tx_packets') + counter('tx_dropped');
        const t0 = performance.now();
        await sleep(WINDOW_MS);
        const seconds = (performance.now() - t0) / 1000;
        readRates.push((read - read0) / seconds);
        offeredRates.push((counter('tx_packets') + counter('tx_dropped') - offered0) / seconds);
      }
      rows.push({ size, batch: b, readPps: median(readRates), offeredPps: median(offeredRates) });
    }
  } finally {
    sender.kill('SIGKILL');
    tun.stopReading();
  }
  return rows;
}

interface WriteRow {
  size: number;
  batch: number;
  writePps: number;
  kernelAgrees: boolean;
}

async function measureWrite(tun: Tun, size: number, port: number): Promise<WriteRow[]> {
  const packet = buildUdpPacket({
    src: PEER,
    dst: LOCAL,
    srcPort: 40000,
    dstPort: port,
    payload: Buffer.alloc(size - 28, 0x6f),
  });
  const rows: WriteRow[] = [];
  for (const batch of BATCH_SIZES) {
    const buf = Buffer.alloc(batch * SLOT);
    const lens = new Uint32Array(batch);
    for (let i = 0; i < batch; i++) {
      packet.copy(buf, i * SLOT);
      lens[i] = packet.length;
    }
    const rates: number[] = [];
    let agrees = true;
    for (let run = 0; run < RUNS; run++) {
      const kernel0 = counter('rx_packets');
      let written = 0;
      const t0 = performance.now();
      const end = t0 + WINDOW_MS;
      let now = t0;
      // Synchronous on purpose: this measures the call, not the event loop.
      while (now < end) {
        written += tun.writeBatch(buf, lens, SLOT, batch);
        now = performance.now();
      }
      rates.push(written / ((now - t0) / 1000));
      agrees &&= counter('rx_packets') - kernel0 === written;
      await sleep(50); // let the sink socket drain between runs
    }
    rows.push({ size, batch, writePps: median(rates), kernelAgrees: agrees });
  }
  return rows;
}

async function inside(): Promise<void> {
  const tun = new Tun({ name: DEVICE });
  try {
    tun.setMtu(1500);
    tun.up();
    tun.addAddress(`${LOCAL}/24`);
    const sink = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => sink.bind(0, LOCAL, resolve));
    sink.on('message', () => {}); // dropped; the kernel counts what the socket could not hold

    const idle = await measureIdle(tun);
    const reads: ReadRow[] = [];
    const writes: WriteRow[] = [];
    for (const size of PACKET_SIZES) reads.push(...(await measureRead(tun, size)));
    for (const size of PACKET_SIZES) writes.push(...(await measureWrite(tun, size, sink.address().port)));
    sink.close();

    console.log(
      `\ntun-napi batch I/O, medians of ${RUNS} runs of ${WINDOW_MS} ms (node ${process.version})\n`,
    );
    console.log('direction  size  batch   packets/s   offered/s   note');
    for (const r of reads) {
      const share = r.offeredPps > 0 ? `${((100 * r.readPps) / r.offeredPps).toFixed(0)}% of offered` : '';
      console.log(
        `read     ${String(r.size).padStart(6)} ${String(r.batch).padStart(6)} ${kpps(r.readPps).padStart(11)} ${kpps(r.offeredPps).padStart(11)}   ${share}`,
      );
    }
    for (const w of writes) {
      const note = w.kernelAgrees ? 'kernel rx counter agrees' : 'KERNEL COUNTER DISAGREES';
      console.log(
        `write    ${String(w.size).padStart(6)} ${String(w.batch).padStart(6)} ${kpps(w.writePps).padStart(11)} ${'-'.padStart(11)}   ${note}`,
      );
    }
    console.log(
      `\nidle: ${idle.cpuMs.toFixed(1)} ms CPU in ${IDLE_MS} ms with onReadable armed (${idle.percent.toFixed(2)}%), ${idle.packets} stray packets read`,
    );
  } finally {
    tun.close();
  }
}

async function outside(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('tun benchmark: needs root (network namespaces and a TUN device)');
    process.exitCode = 1;
    return;
  }
  const ns = new Netns('bench');
  const cleanUp = (): void => ns.destroy();
  process.once('SIGINT', () => {
    cleanUp();
    process.exit(130);
  });
  try {
    const child = ns.spawn(process.execPath, [self, '--inside'], { stdio: 'inherit' });
    const timer = setTimeout(() => child.kill('SIGKILL'), INSIDE_TIMEOUT_MS);
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    clearTimeout(timer);
    if (code !== 0) {
      console.error(`tun benchmark: the run inside the namespace failed (exit ${code})`);
      process.exitCode = 1;
    }
  } finally {
    cleanUp();
  }
}

const mode = process.argv[2];
if (mode === '--inside') await inside();
else if (mode === '--flood') flood(Number(process.argv[3]));
else await outside();
