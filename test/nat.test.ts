/**
 * Through NATs (issue 5), as root, in an internet of namespaces this file makes: discovery finds
 * reflexive addresses, members behind NATs punch holes to each other, members behind one NAT
 * talk over their LAN.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import type { NodeStatus } from '../core/node/status.js';
import { OverlayHost } from './helpers/lan.js';
import { NatWorld } from './helpers/natWorld.js';
import { stateRoot } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

async function joinVia(p: OverlayHost, member: OverlayHost, name: string): Promise<void> {
  const { code } = await p.json<{ code: string }>(['invite']);
  await member.ok(['join', code, '--name', name]);
  await member.ok(['up']);
}

/** Polls a's status until its path to `peer` is direct; returns how long it took. */
async function directWithin(
  a: OverlayHost,
  peer: string,
  ms: number,
): Promise<{ ms: number; status: NodeStatus }> {
  const start = Date.now();
  let last: NodeStatus | undefined;
  while (Date.now() - start < ms) {
    last = await a.json<NodeStatus>(['status']);
    const p = last.peers.find((x) => x.name === peer);
    if (p?.path === 'direct' && p.endpoint && p.candidates?.some((c) => c.result === 'ok')) {
      return { ms: Date.now() - start, status: last };
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `no direct path to ${peer} in ${ms} ms: ${JSON.stringify(last?.peers.find((x) => x.name === peer))}`,
  );
}

async function world(t: ExecutionContext, tag: string) {
  const w = new NatWorld(t, tag);
  const root = stateRoot(t);
  const p = new OverlayHost(w.publicHost('p', '203.0.113.10'), join(root, 'p'));
  await p.ok(['init', '--name', 'p']);
  await p.ok(['up']);
  return { w, root, p };
}

rootTest(
  test,
  'two members behind two different NATs go direct, not through the public member',
  async (t) => {
    const { w, root, p } = await world(t, 'nd');
    const a = new OverlayHost(w.nat('nata', '203.0.113.1').host('a'), join(root, 'a'));
    const b = new OverlayHost(w.nat('natb', '203.0.113.2').host('b'), join(root, 'b'));
    await joinVia(p, a, 'a');
    await joinVia(p, b, 'b');
    const upAt = Date.now();
    const { ms, status } = await directWithin(a, 'b', 5000);
    t.log(`a -> b direct ${ms} ms after both were up (status polled every 250 ms)`);
    const toB = status.peers.find((x) => x.name === 'b')!;
    t.regex(toB.endpoint!, /^203\.0\.113\.2:\d+$/, "b is reached at its NAT's public address");
    const bAddr = toB.addresses[0]!;
    const before = (await p.json<NodeStatus>(['status'])).counters;
    const r = ping(a.ns, bAddr, 5, { intervalS: 0.1 });
    t.is(r.received, 5, r.output);
    const after = (await p.json<NodeStatus>(['status'])).counters;
    t.is(after['forwarded'], before['forwarded'], 'p forwarded nothing');
    t.true(Date.now() - upAt < 15_000);
  },
);

rootTest(test, 'two members behind the same NAT talk over their LAN addresses', async (t) => {
  const { w, root, p } = await world(t, 'ns');
  const nat = w.nat('nat', '203.0.113.1');
  const a = new OverlayHost(nat.host('a'), join(root, 'a'));
  const c = new OverlayHost(nat.host('c'), join(root, 'c'));
  await joinVia(p, a, 'a');
  await joinVia(p, c, 'c');
  const { ms, status } = await directWithin(a, 'c', 5000);
  t.log(`a -> c direct ${ms} ms after both were up`);
  const toC = status.peers.find((x) => x.name === 'c')!;
  t.regex(toC.endpoint!, /^198\.18\.1\.\d+:51820$/, 'over the LAN');
  t.is(ping(a.ns, toC.addresses[0]!, 3, { intervalS: 0.1 }).received, 3);
});
