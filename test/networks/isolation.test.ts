/**
 * Two networks never route each other's packets (issue 14), against a member who tries. A laptop
 * is in `home` and `work`, run by two admins; `evil`, a member of work, runs overlay with a data
 * path that claims the laptop owns home's addresses too (test/helpers/hostileMember.ts), so its
 * kernel sends home-bound packets into its tunnel to the laptop. Each attack sends datagrams to a
 * port of its own, and the kernel's counters where they would land (the laptop's INPUT and
 * FORWARD, home's member's INPUT) say whether any arrived; the laptop's work node counts the drops.
 */
import path from 'node:path';
import test from 'ava';
import type { NodeStatus } from '../../core/node/status.js';
import { lan, OverlayHost } from '../helpers/lan.js';
import type { Netns } from '../helpers/netns.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { firstReplyWithin, ping } from '../helpers/overlayNode.js';
import { rootTest } from '../helpers/root.js';

const HOST_RESOLV = 'nameserver 192.0.2.250\noptions timeout:1 attempts:1\n';
const hostileScript = new URL('../helpers/hostileMember.js', import.meta.url).pathname;

/** Datagrams sent, each attack on its own port. */
const SENT = 20;

/** Sends `count` UDP datagrams from `ns` to `to`:`port`, from `from` when given (bound first). */
function sendUdp(ns: Netns, to: string, port: number, count: number, from?: string): void {
  const family = to.includes(':') ? 'udp6' : 'udp4';
  const code = `
    const s = require('node:dgram').createSocket('${family}');
    let left = ${count};
    const next = () => left-- > 0 ? s.send('attack', ${port}, '${to}', (e) => e ? s.close() : next()) : s.close();
    s.bind(${from ? `{ address: '${from}' }` : '{}'}, next);`;
  ns.exec(process.execPath, ['-e', code], 10_000);
}

/** A rule in `chain` that counts UDP to `port` (and accepts it: counting changes nothing). */
function countPort(ns: Netns, chain: 'INPUT' | 'FORWARD', port: number): () => number {
  for (const tool of ['iptables', 'ip6tables']) {
    ns.exec(tool, ['-I', chain, '-p', 'udp', '--dport', String(port), '-j', 'ACCEPT']);
  }
  return () =>
    ['iptables', 'ip6tables']
      .map((tool) => ns.exec(tool, ['-L', chain, '-v', '-x', '-n']))
      .flatMap((text) => text.split('\n').filter((l) => l.includes(`dpt:${port}`)))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0]), 0);
}

function dig(ns: Netns, server: string, args: string[]): string {
  try {
    return ns.exec('dig', [`@${server}`, '+time=1', '+tries=1', ...args], 10_000);
  } catch (e) {
    return String((e as { stdout?: string }).stdout ?? e);
  }
}

rootTest(
  test,
  "a work member cannot reach home through a laptop in both: home's addresses, the laptop as a router, spoofed sources, home's names",
  async (t) => {
    const { hosts } = lan(t, 'is', 4);
    for (const h of hosts) h.etc({ 'resolv.conf': HOST_RESOLV });
    const [homeNs, workNs, laptopNs, evilNs] = hosts as [Netns, Netns, Netns, Netns];
    const root = stateRoot(t);
    const homeAdmin = new OverlayHost(homeNs, path.join(root, 'home-admin'));
    const workAdmin = new OverlayHost(workNs, path.join(root, 'work-admin'));
    const laptop = new OverlayHost(laptopNs, path.join(root, 'laptop'));
    const evil = new OverlayHost(evilNs, path.join(root, 'evil'));
    await homeAdmin.ok(['init', '--name', 'b', '--network-name', 'home', '--subnet', '100.80.0.0/16']);
    await homeAdmin.ok(['up']);
    await workAdmin.ok(['init', '--name', 'w', '--network-name', 'work', '--subnet', '100.90.0.0/16']);
    await workAdmin.ok(['up']);
    await laptop.ok(['join', (await homeAdmin.json<{ code: string }>(['invite'])).code, '--name', 'm']);
    await laptop.ok(['up']);
    await laptop.ok(['join', (await workAdmin.json<{ code: string }>(['invite'])).code, '--name', 'm']);
    await laptop.ok(['up', '--network', 'work']);
    const homeB = (await homeAdmin.json<NodeStatus>(['status'])).self;
    const laptopHome = (await laptop.json<NodeStatus>(['status', '--network', 'home'])).self;
    const laptopWork = () => laptop.json<NodeStatus>(['status', '--network', 'work']);
    const [laptopWork4, laptopWork6] = (await laptopWork()).self.addresses as [string, string];
    const [home4, home6] = laptopHome.addresses as [string, string];
    const [b4, b6] = homeB.addresses as [string, string];

    // evil joins work like anyone, then runs its altered node: the laptop "owns" home's addresses.
    await evil.ok(['join', (await workAdmin.json<{ code: string }>(['invite'])).code, '--name', 'evil']);
    const hostile = evilNs.spawn(
      process.execPath,
      [hostileScript, 'up', '--foreground', '--state-dir', evil.stateDir],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: {
          ...process.env,
          HOSTILE_VICTIM: laptopWork4,
          HOSTILE_CLAIM: ['100.80.0.0/16', `${home6}/128`, `${b6}/128`].join(','),
        },
      },
    );
    let hostileErr = '';
    hostile.stderr?.on('data', (d: Buffer) => {
      hostileErr += d.toString();
    });
    for (let i = 0; i < 80 && (await evil.run(['status'])).code !== 0; i++) {
      if (hostile.exitCode !== null) throw new Error(`evil's node exited: ${hostileErr}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    const evilSelf = (await evil.json<NodeStatus>(['status'])).self;
    // Its kernel sends home's addresses into its tunnel, as its data path now routes them.
    evilNs.ip('route', 'add', '100.80.0.0/16', 'dev', evilSelf.interface);
    for (const a of [home6, b6]) evilNs.ip('-6', 'route', 'add', a, 'dev', evilSelf.interface);
    // The tunnel to the laptop works: what is dropped below is dropped for where it goes.
    firstReplyWithin(evilNs, laptopWork4, 15_000);
    firstReplyWithin(laptopNs, b4, 15_000);

    // 1. The laptop's own home addresses, from inside work's tunnel: a service the laptop offers
    //    home only (bound to its home address) is not work's to reach.
    const atLaptop = [40001, 40002].map((p) => countPort(laptopNs, 'INPUT', p));
    sendUdp(evilNs, home4, 40001, SENT);
    sendUdp(evilNs, home6, 40002, SENT);
    const homeAnswers = ping(evilNs, home4, 3, { waitS: 1 }).received;

    // 2. A laptop that routes (containers, VMs: ip_forward on, a masquerade for what leaves it):
    //    still no packet of work's reaches a member of home.
    for (const key of ['net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1'])
      laptopNs.exec('sysctl', ['-qw', key]);
    for (const tool of ['iptables', 'ip6tables'])
      laptopNs.exec(tool, ['-t', 'nat', '-A', 'POSTROUTING', '-j', 'MASQUERADE']);
    const atB = [40003, 40004].map((p) => countPort(homeNs, 'INPUT', p));
    const forwarded = [40003, 40004].map((p) => countPort(laptopNs, 'FORWARD', p));
    sendUdp(evilNs, b4, 40003, SENT);
    sendUdp(evilNs, b6, 40004, SENT);
    const bAnswers = ping(evilNs, b4, 3, { waitS: 1 }).received;

    // 3. A home address as the source, to the laptop's work address: not evil's to send from.
    evilNs.ip('addr', 'add', `${b4}/32`, 'dev', 'lo');
    const spoofed = countPort(laptopNs, 'INPUT', 40005);
    sendUdp(evilNs, laptopWork4, 40005, SENT, b4);

    // Nothing arrived anywhere; the laptop's work node counted every datagram it dropped.
    let counters: Record<string, number> = {};
    for (let i = 0; i < 20; i++) {
      counters = (await laptopWork()).counters;
      if ((counters['rxDestinationDenied'] ?? 0) >= 4 * SENT && (counters['rxSourceDenied'] ?? 0) >= SENT)
        break;
      await new Promise((r) => setTimeout(r, 250));
    }
    t.log(
      `arrived: laptop's home addresses ${atLaptop.map((n) => n())}, home's member ${atB.map((n) => n())},`,
      `forwarded ${forwarded.map((n) => n())}, spoofed ${spoofed()};`,
      `laptop's work node dropped ${counters['rxDestinationDenied']} for their destination,`,
      `${counters['rxSourceDenied']} for their source; pings answered: laptop's home address ${homeAnswers}, home's member ${bAnswers}`,
    );
    t.is(homeAnswers, 0, "the laptop's home address does not answer work");
    t.is(bAnswers, 0, "home's member does not answer work");
    t.deepEqual(
      atLaptop.map((n) => n()),
      [0, 0],
      "nothing reached the laptop's home addresses",
    );
    t.deepEqual(
      atB.map((n) => n()),
      [0, 0],
      "nothing reached home's member",
    );
    t.deepEqual(
      forwarded.map((n) => n()),
      [0, 0],
      'the laptop forwarded nothing of work into home',
    );
    t.is(spoofed(), 0, 'a spoofed home source is not delivered');
    t.true(
      (counters['rxDestinationDenied'] ?? 0) >= 4 * SENT,
      `destinations not the laptop's: ${counters['rxDestinationDenied']}`,
    );
    t.true((counters['rxSourceDenied'] ?? 0) >= SENT, `spoofed sources: ${counters['rxSourceDenied']}`);

    // 4. Home's names, asked of the laptop's work resolver: refused, nothing of home's told.
    for (const q of [
      ['b.home.internal', 'A'],
      ['m.home.internal', 'AAAA'],
      ['-x', b4],
    ]) {
      const answer = dig(evilNs, laptopWork4, q);
      t.regex(answer, /status: REFUSED/, answer);
      t.false(answer.includes(b4) && !q.includes(b4), answer);
    }
    // ... and home's resolver, on the laptop's home address, cannot be reached from work at all.
    t.regex(dig(evilNs, home4, ['b.home.internal']), /timed out|no servers could be reached/);

    // What the laptop should carry still flows, both ways.
    firstReplyWithin(evilNs, laptopWork4, 5_000);
    firstReplyWithin(laptopNs, b4, 5_000);
    t.is(ping(laptopNs, b6, 2).received, 2, 'home over IPv6 too');
    t.is(ping(evilNs, laptopWork6, 2).received, 2, 'work over IPv6 too');
  },
);
