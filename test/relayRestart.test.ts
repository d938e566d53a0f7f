/**
 * Relayed traffic survives restarts (issue 10, hole 4), as root, in an internet of namespaces this
 * file makes: b and c sit behind endpoint-dependent NATs, so they reach each other only through
 * the public member p's relay. Each of the three is restarted with `down`/`up` and with `kill -9`
 * + `up`; every time, relayed pings must be answered again within 5 s and keep being answered.
 * Before relay keys had epochs, a restarted data path counted its envelopes from 0 again and the
 * far side's replay window dropped them all: 0 of 20 relayed pings after a restart.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { NodeStatus } from '../core/node/status.js';
import { OverlayHost } from './helpers/lan.js';
import { joinVia, NatWorld, pathWithin } from './helpers/natWorld.js';
import { stateRoot } from './helpers/overlayNetwork.js';
import { firstReplyWithin, ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

/** The bound the issue sets: relayed traffic is back this soon after the restarted node is up. */
const RESUME_MS = 5_000;

interface RelayedPair {
  p: OverlayHost;
  b: OverlayHost;
  c: OverlayHost;
  address: { b: string; c: string };
}

async function relayedPair(t: ExecutionContext, tag: string): Promise<RelayedPair> {
  const w = new NatWorld(t, tag);
  const root = stateRoot(t);
  const p = new OverlayHost(w.publicHost('p', '203.0.113.10'), join(root, 'p'));
  await p.ok(['init', '--name', 'p']);
  await p.ok(['up']);
  const b = new OverlayHost(w.nat('natb', '203.0.113.2', { randomFully: true }).host('b'), join(root, 'b'));
  const c = new OverlayHost(w.nat('natc', '203.0.113.3', { randomFully: true }).host('c'), join(root, 'c'));
  await joinVia(p, b, 'b');
  await joinVia(p, c, 'c');
  await pathWithin(b, 'c', 15_000, (x) => x.path === 'relay' && x.via === 'p');
  await pathWithin(c, 'b', 15_000, (x) => x.path === 'relay' && x.via === 'p');
  const selves = await Promise.all([b, c].map((h) => h.json<NodeStatus>(['status'])));
  const address = { b: selves[0]!.self.addresses[0]!, c: selves[1]!.self.addresses[0]! };
  return { p, b, c, address };
}

async function relayForwarded(p: OverlayHost): Promise<number> {
  return (await p.json<NodeStatus>(['status'])).counters['relayForwarded'] ?? 0;
}

/**
 * Restarts `node` the way `kind` says, then pings `to` from `from` until the first answer; that
 * must come within RESUME_MS of `up` returning, and the next ten must come too, through p.
 */
async function restartAndPing(
  t: ExecutionContext,
  pair: RelayedPair,
  node: 'p' | 'b' | 'c',
  kind: 'down' | 'kill -9',
  from: 'b' | 'c',
): Promise<void> {
  const host = pair[node];
  const to = from === 'b' ? pair.address.c : pair.address.b;
  // Warm: the relayed path works before the restart.
  t.is(ping(pair[from].ns, to, 1).received, 1, `before ${kind} of ${node}`);
  if (kind === 'down') await host.ok(['down']);
  else await host.kill9();
  await host.ok(['up']);
  const resumedMs = firstReplyWithin(pair[from].ns, to, RESUME_MS);
  const forwarded = await relayForwarded(pair.p);
  const after = ping(pair[from].ns, to, 10, { intervalS: 0.1 });
  t.log(
    `${kind} of ${node}: relayed pings ${from} -> ${from === 'b' ? 'c' : 'b'} back after ${resumedMs} ms`,
  );
  t.true(after.received >= 9, `after ${kind} of ${node}: ${after.received}/10\n${after.output}`);
  t.true((await relayForwarded(pair.p)) - forwarded >= 2 * after.received, 'the pings went through p');
}

rootTest(
  test,
  'relayed traffic resumes within 5 s after either end restarts, with down/up and with kill -9',
  async (t) => {
    // Four restarts, each a node start: more than one test's usual share of time.
    t.timeout(180_000);
    const pair = await relayedPair(t, 'rre');
    await restartAndPing(t, pair, 'b', 'down', 'b');
    await restartAndPing(t, pair, 'c', 'kill -9', 'b');
    await restartAndPing(t, pair, 'b', 'kill -9', 'c');
    await restartAndPing(t, pair, 'c', 'down', 'c');
  },
);

rootTest(
  test,
  'relayed traffic resumes within 5 s after the relay restarts, with down/up and with kill -9',
  async (t) => {
    const pair = await relayedPair(t, 'rrr');
    await restartAndPing(t, pair, 'p', 'down', 'b');
    await restartAndPing(t, pair, 'p', 'kill -9', 'c');
  },
);
