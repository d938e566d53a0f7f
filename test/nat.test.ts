/**
 * Through NATs (issue 5), as root, in an internet of namespaces this file makes: discovery finds
 * reflexive addresses, members behind NATs punch holes to each other, members behind one NAT
 * talk over their LAN. What needs no kernel (a path under loss, a member up with --no-relay) runs
 * on the memory twins instead: test/twins/paths.test.ts and test/twins/mesh.test.ts.
 */
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import type { NodeStatus } from '../core/node/status.js';
import { OverlayHost } from './helpers/lan.js';
import { joinVia, NatWorld, pathWithin } from './helpers/natWorld.js';
import { stateRoot } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

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
    const r = ping(a.ns, bAddr, 100, { intervalS: 0.02 });
    t.true(r.received >= 95, r.output);
    const after = (await p.json<NodeStatus>(['status'])).counters;
    t.is(after['forwarded'], before['forwarded'], 'p forwarded no packet');
    // Through p, the pings alone would be 200 envelopes; what p does carry are the probes that
    // keep the relay route through it measured (a few a second at most).
    const relayed = after['relayForwarded']! - before['relayForwarded']!;
    t.true(relayed < 100, `p relayed ${relayed} envelopes: the pings went through it`);
    t.true(Date.now() - upAt < 15_000);
  },
);

/** Polls until `a` and `b` see each other direct; how long after `since`, and where each saw the other. */
async function bothDirect(
  [a, aName]: [OverlayHost, string],
  [b, bName]: [OverlayHost, string],
  ms: number,
): Promise<{ ms: number; endpoints: string[] }> {
  const since = Date.now();
  const [ab, ba] = await Promise.all([directWithin(a, bName, ms), directWithin(b, aName, ms)]);
  const endpoints = [
    ab.status.peers.find((x) => x.name === bName)!.endpoint!,
    ba.status.peers.find((x) => x.name === aName)!.endpoint!,
  ];
  return { ms: Date.now() - since, endpoints };
}

rootTest(
  test,
  'members behind NATs without a firewall go direct within 5 s: two such NATs, and each with a firewalled one',
  async (t) => {
    const { w, root, p } = await world(t, 'nf');
    // Plain MASQUERADE, no filter rules: an unsolicited packet leaves conntrack state (issue 13).
    const a = new OverlayHost(w.nat('nata', '203.0.113.1', { firewall: false }).host('a'), join(root, 'a'));
    const b = new OverlayHost(w.nat('natb', '203.0.113.2', { firewall: false }).host('b'), join(root, 'b'));
    const c = new OverlayHost(w.nat('natc', '203.0.113.3').host('c'), join(root, 'c'));
    await joinVia(p, a, 'a');
    await joinVia(p, b, 'b');
    const ab = await bothDirect([a, 'a'], [b, 'b'], 5000);
    t.log(`no firewall + no firewall: a <-> b direct ${ab.ms} ms after b was up`);
    // Each NAT kept the member's port: no unreplied entry took the pair of addresses.
    t.deepEqual(ab.endpoints, ['203.0.113.2:51820', '203.0.113.1:51820']);
    const bAddr = (await a.json<NodeStatus>(['status'])).peers.find((x) => x.name === 'b')!.addresses[0]!;
    t.is(ping(a.ns, bAddr, 5, { intervalS: 0.1 }).received, 5);
    await joinVia(p, c, 'c');
    const [ac, bc] = await Promise.all([
      bothDirect([a, 'a'], [c, 'c'], 5000),
      bothDirect([b, 'b'], [c, 'c'], 5000),
    ]);
    t.log(`no firewall + firewall: a <-> c direct ${ac.ms} ms, b <-> c ${bc.ms} ms after c was up`);
    t.deepEqual(ac.endpoints, ['203.0.113.3:51820', '203.0.113.1:51820']);
    t.deepEqual(bc.endpoints, ['203.0.113.3:51820', '203.0.113.2:51820']);
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

/** The longest run of missing replies in ping's output, in seconds (interval × missing seqs). */
function longestGapS(output: string, intervalS: number): number {
  const seqs = [...output.matchAll(/icmp_seq=(\d+)/g)].map((m) => Number(m[1]));
  let gap = 0;
  for (let i = 1; i < seqs.length; i++) gap = Math.max(gap, seqs[i]! - seqs[i - 1]! - 1);
  return gap * intervalS;
}

rootTest(test, "a member's underlay address changes mid-stream: traffic continues within 3 s", async (t) => {
  const { w, root, p } = await world(t, 'nm');
  const natA = w.nat('nata', '203.0.113.1');
  const aNs = natA.host('a');
  const a = new OverlayHost(aNs, join(root, 'a'));
  const b = new OverlayHost(w.nat('natb', '203.0.113.2').host('b'), join(root, 'b'));
  await joinVia(p, a, 'a');
  await joinVia(p, b, 'b');
  const { status } = await directWithin(b, 'a', 5000);
  const aAddr = status.peers.find((x) => x.name === 'a')!.addresses[0]!;
  const pinging = b.ns.spawn('ping', ['-n', '-c', '60', '-i', '0.1', '-W', '1', aAddr], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  let output = '';
  pinging.stdout!.on('data', (d: Buffer) => {
    output += d.toString();
  });
  await new Promise((r) => setTimeout(r, 1500));
  // a moves to another address on its LAN: its NAT must give it a new mapping
  const ifname = /^\d+: (h[0-9a-f]+)@/m.exec(aNs.ip('-o', 'link', 'show'))![1]!;
  aNs.ip('addr', 'del', '198.18.1.10/24', 'dev', ifname);
  aNs.ip('addr', 'add', '198.18.1.99/24', 'dev', ifname);
  aNs.ip('route', 'add', 'default', 'via', '198.18.1.1');
  await new Promise<void>((resolve) => pinging.on('exit', () => resolve()));
  const gap = longestGapS(output, 0.1);
  const received = [...output.matchAll(/icmp_seq=/g)].length;
  t.log(`after the move: longest gap ${gap.toFixed(1)} s, ${received}/60 replies`);
  t.true(gap <= 3, `gap ${gap} s\n${output.split('\n').slice(-4).join('\n')}`);
  t.true(received >= 40);
});

rootTest(
  test,
  'two members behind endpoint-dependent NATs reach each other through the public member',
  async (t) => {
    const { w, root, p } = await world(t, 'nr');
    const b = new OverlayHost(w.nat('natb', '203.0.113.2', { randomFully: true }).host('b'), join(root, 'b'));
    const c = new OverlayHost(w.nat('natc', '203.0.113.3', { randomFully: true }).host('c'), join(root, 'c'));
    await joinVia(p, b, 'b');
    await joinVia(p, c, 'c');
    const start = Date.now();
    let last: NodeStatus | undefined;
    let toC: NodeStatus['peers'][number] | undefined;
    while (Date.now() - start < 10_000) {
      last = await b.json<NodeStatus>(['status']);
      toC = last.peers.find((x) => x.name === 'c');
      if (toC?.path === 'relay') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    t.is(toC?.path, 'relay', JSON.stringify(toC));
    t.is(toC?.via, 'p');
    t.log(`b -> c relayed via p ${Date.now() - start} ms after both were up`);
    // Replies need c to route back through p as well; the two ends decide a moment apart.
    let toB: NodeStatus['peers'][number] | undefined;
    while (Date.now() - start < 10_000) {
      toB = (await c.json<NodeStatus>(['status'])).peers.find((x) => x.name === 'b');
      if (toB?.path === 'relay') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.is(toB?.via, 'p', JSON.stringify(toB));
    t.log(`c -> b relayed via p ${Date.now() - start} ms after both were up`);
    const before = (await p.json<NodeStatus>(['status'])).counters;
    const firstReply = Date.now();
    const r = ping(b.ns, toC!.addresses[0]!, 5, { intervalS: 0.2 });
    t.is(r.received, 5, r.output);
    t.log(`5 pings b -> c through p in ${Date.now() - firstReply} ms`);
    const after = (await p.json<NodeStatus>(['status'])).counters;
    // Each echo and each reply crosses p once in an envelope.
    t.true(after['relayForwarded']! - before['relayForwarded']! >= 10, JSON.stringify(after));
    t.is(after['forwarded'], before['forwarded'], 'p forwards envelopes, never decrypted packets');
    // The route to a relayed member has room for the envelope: full-size packets are not
    // fragmented on the underlay, and anything larger is refused at the sender.
    const cAddr = toC!.addresses[0]!;
    t.regex(b.ns.ip('route', 'get', cAddr), /mtu 1376/);
    const fragmentedBefore = (await b.json<NodeStatus>(['status'])).counters['relayFragmented'] ?? 0;
    const full = ping(b.ns, cAddr, 3, { intervalS: 0.2, payloadBytes: 1376 - 28 });
    t.is(full.received, 3, full.output);
    t.is((await b.json<NodeStatus>(['status'])).counters['relayFragmented'] ?? 0, fragmentedBefore);
    t.is(ping(b.ns, cAddr, 1, { payloadBytes: 1420 - 28 }).received, 0);
    // overlay ping answers over the relayed path too, in both directions
    for (const [from, to] of [
      [b, 'c'],
      [c, 'b'],
    ] as const) {
      const pongs = (await from.ok(['ping', to, '-c', '3', '--json'])).stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { path?: string; endpoint?: string; timeout?: boolean });
      t.true(
        pongs.some((x) => x.path === 'relay' && x.endpoint === 'via p'),
        `overlay ping ${to}: ${JSON.stringify(pongs)}`,
      );
      t.true(pongs.filter((x) => !x.timeout).length >= 2, JSON.stringify(pongs));
    }
  },
);

rootTest(
  test,
  'the direct path between two members is cut: traffic moves to a relay within 3 s, and back when it returns',
  async (t) => {
    const { w, root, p } = await world(t, 'nh');
    const natA = w.nat('nata', '203.0.113.1');
    const a = new OverlayHost(natA.host('a'), join(root, 'a'));
    const b = new OverlayHost(w.nat('natb', '203.0.113.2').host('b'), join(root, 'b'));
    await joinVia(p, a, 'a');
    await joinVia(p, b, 'b');
    const { status } = await directWithin(a, 'b', 5000);
    const bAddr = status.peers.find((x) => x.name === 'b')!.addresses[0]!;
    const pinging = a.ns.spawn('ping', ['-n', '-c', '75', '-i', '0.2', '-W', '1', bAddr], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    pinging.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    await new Promise((r) => setTimeout(r, 2000));
    // Only a and b lose each other: both still reach p.
    const rule = ['FORWARD', '-i', natA.wanIf, '-s', '203.0.113.2', '-j', 'DROP'];
    natA.router.exec('iptables', ['-I', ...rule]);
    const relayMs = await pathWithin(a, 'b', 10_000, (x) => x.path === 'relay' && x.via === 'p');
    t.log(`cut: a shows b relayed via p after ${relayMs} ms`);
    await new Promise((r) => setTimeout(r, 3000));
    natA.router.exec('iptables', ['-D', ...rule]);
    const directMs = await pathWithin(a, 'b', 10_000, (x) => x.path === 'direct');
    t.log(`restored: a shows b direct after ${directMs} ms`);
    t.notRegex(a.ns.ip('route', 'get', bAddr), /mtu/, 'direct again: the full MTU is back');
    await new Promise<void>((resolve) => pinging.on('exit', () => resolve()));
    const gap = longestGapS(output, 0.2);
    const received = [...output.matchAll(/icmp_seq=/g)].length;
    t.log(`longest gap in replies ${gap.toFixed(1)} s, ${received}/75 replies`);
    t.true(gap <= 3, `gap ${gap} s\n${output.split('\n').slice(-4).join('\n')}`);
  },
);

rootTest(
  test,
  'up --stun: a member with no peers learns its public address from a STUN server and announces it',
  async (t) => {
    const w = new NatWorld(t, 'nt');
    const root = stateRoot(t);
    const stunHost = w.publicHost('s', '203.0.113.20');
    const server = stunHost.spawn(
      process.execPath,
      [fileURLToPath(new URL('./fixtures/stun-server.js', import.meta.url)), '--listen', '203.0.113.20:3478'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const lines = createInterface({ input: server.stdout! });
    const [first] = (await once(lines, 'line')) as [string];
    t.is(first, 'listening 203.0.113.20:3478');
    const a = new OverlayHost(w.nat('nata', '203.0.113.1').host('a'), join(root, 'a'));
    await a.ok(['init', '--name', 'a']);
    // A second server that never answers: it is reported, and does not hold up the first.
    await a.ok(['up', '--stun', '203.0.113.20:3478', '--stun', '203.0.113.21:3478']);
    const start = Date.now();
    let self: NodeStatus['self'] | undefined;
    while (Date.now() - start < 5000) {
      self = (await a.json<NodeStatus>(['status'])).self;
      if (self.stun?.[0]?.reflexive) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const reflexive = self?.stun?.[0]?.reflexive;
    t.regex(reflexive ?? '', /^203\.0\.113\.1:\d+$/, JSON.stringify(self?.stun));
    t.log(`a learned ${reflexive} from STUN ${Date.now() - start} ms after up`);
    t.like(self?.stun?.[1], { server: '203.0.113.21:3478', reflexive: null });
    // It is a candidate now: announced in a's signed endpoint record (what peers will punch to).
    let endpoints: string[] = [];
    while (Date.now() - start < 5000 && !endpoints.includes(reflexive!)) {
      endpoints = (await a.json<NodeStatus>(['status'])).self.endpoints;
      await new Promise((r) => setTimeout(r, 100));
    }
    t.true(endpoints.includes(reflexive!), JSON.stringify(endpoints));
  },
);
