/**
 * What one member's discovery costs as the network grows. A member with N peers hears O(N)
 * messages a second (pongs, pings, relay probes), and every one of them ticks the machine, which
 * looks at every path: so a tick must cost O(N), never O(N²), or the member's CPU grows as N³
 * (found by bench:scale on the simulated clock: at N = 50 each node spent 113 ms of CPU per second,
 * most of it in re-offering the full list of relays to every path on every tick).
 */

import test from 'ava';
import { type PeerId, peerId } from '../../core/base/keys.js';
import { type DiscoverySend, PeerPath } from '../../core/discovery/index.js';
import { ep } from '../helpers/endpoints.js';
import { Driver } from './driver.js';

function peerNumber(i: number): PeerId {
  const key = new Uint8Array(32);
  key[0] = i & 0xff;
  key[1] = i >> 8;
  key[31] = 1;
  return peerId(key);
}

/**
 * Every peer on a public address of its own, answering every ping at once, directly or relayed.
 * `perDestination`: we are behind a NAT that maps per destination, so each peer sees us at a port
 * of its own (one reflexive observation per peer).
 */
function answerAll(perDestination: boolean) {
  return (send: DiscoverySend) => {
    if (send.message.kind !== 'ping') return [];
    const txid = send.message.txid;
    if (send.via !== undefined)
      return [
        { from: send.to, message: { kind: 'pong' as const, txid }, source: { via: send.via }, delayMs: 5 },
      ];
    const port = perDestination ? 40_000 + (Buffer.from(send.to, 'base64')[0] ?? 0) : 40_000;
    const message = { kind: 'pong' as const, txid, observed: ep(`198.51.100.1:${port}`) };
    return [{ from: send.to, message, source: { endpoint: send.endpoint }, delayMs: 5 }];
  };
}

function publicPeers(n: number): { id: PeerId; candidates: string[] }[] {
  return Array.from({ length: n }, (_, i) => ({
    id: peerNumber(i + 1),
    candidates: [`203.0.${113 - (i >> 8)}.${(i & 0xff) + 1}:51820`],
  }));
}

/**
 * CPU ms one Discovery with `n` peers on public addresses, all direct, spends on 5 simulated seconds
 * at rest (the least of three such windows: a busy machine only ever adds time).
 */
function cpuMs(n: number, perDestination = false): number {
  const d = new Driver(peerNumber(0), publicPeers(n), answerAll(perDestination));
  d.run(20_000);
  let least = Number.POSITIVE_INFINITY;
  for (let w = 1; w <= 3; w++) {
    const start = process.cpuUsage();
    d.run(20_000 + w * 5_000);
    const used = process.cpuUsage(start);
    least = Math.min(least, (used.user + used.system) / 1000);
  }
  return least;
}

test('a tick costs O(N): four times the peers cost about sixteen times the CPU, not sixty-four', (t) => {
  cpuMs(20); // warm the JIT
  const small = cpuMs(30);
  const large = cpuMs(120);
  t.log(`30 peers: ${small.toFixed(0)} ms of CPU; 120 peers: ${large.toFixed(0)} ms`);
  // N times the messages, each tick N: N² is 16x. One N more (N³, 64x) was the bug.
  t.true(large < 32 * Math.max(small, 1), `x${(large / small).toFixed(1)}`);
});

test('behind a NAT that maps per destination (an observed address per peer), a tick still costs O(N)', (t) => {
  cpuMs(20, true); // warm the JIT
  const small = cpuMs(30, true);
  const large = cpuMs(120, true);
  t.log(`30 peers: ${small.toFixed(0)} ms of CPU; 120 peers: ${large.toFixed(0)} ms`);
  t.true(large < 32 * Math.max(small, 1), `x${(large / small).toFixed(1)}`);
});

/** Path ticks per peer per simulated second, at rest (after 20 s), with `n` peers all direct. */
function pathTicksPerPeerSecond(n: number): number {
  const tick = PeerPath.prototype.tick;
  let ticks = 0;
  PeerPath.prototype.tick = function (this: PeerPath, now: number) {
    ticks++;
    return tick.call(this, now);
  };
  try {
    const d = new Driver(peerNumber(0), publicPeers(n), answerAll(false));
    d.run(20_000);
    ticks = 0;
    d.run(30_000);
    return ticks / n / 10;
  } finally {
    PeerPath.prototype.tick = tick;
  }
}

test('a path is ticked when it is due or a message concerns it, not whenever any path is due', (t) => {
  // Counted, not timed: a wake used to tick all N paths, and with N paths one is nearly always due,
  // so each path was ticked O(N) times a second (bench:scale's largest cost at N = 100).
  const small = pathTicksPerPeerSecond(30);
  const large = pathTicksPerPeerSecond(120);
  t.log(`ticks per path per second: ${small.toFixed(1)} with 30 peers, ${large.toFixed(1)} with 120`);
  t.true(large < 1.5 * small, `x${(large / small).toFixed(1)}`);
  // A path at rest wakes for its heartbeat, its pings' timeouts and its alternatives, and its
  // peer's pings and pongs concern it: a few times a second, whatever N.
  t.true(large < 5, `${large.toFixed(1)} ticks per path per second`);
});
