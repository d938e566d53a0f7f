/**
 * A laptop in `home` and `work` at once (issue 14, "Several networks at once"), end to end as root
 * on a LAN of namespaces: two admins run two networks, a third host joins both with the real CLI,
 * and pings and resolves members of both; `down --network work` leaves home up; a kick in work
 * leaves home as it was; a network whose range clashes with home is refused.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import type { NodeStatus } from '../../core/node/status.js';
import { until } from '../helpers/jsonLines.js';
import { lan, OverlayHost } from '../helpers/lan.js';
import type { Netns } from '../helpers/netns.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { firstReplyWithin } from '../helpers/overlayNode.js';
import { rootTest } from '../helpers/root.js';

/** A resolver nobody answers at: names outside the overlay zones are not part of this story. */
const HOST_RESOLV = 'nameserver 192.0.2.250\noptions timeout:1 attempts:1\n';

interface AllStatus {
  networks: { name: string; stateDir: string; status?: NodeStatus; error?: { code: string } }[];
}

/** The IPv4 address glibc finds for `name` in `ns` (through /etc/resolv.conf), or '' when none. */
function lookup(ns: Netns, name: string): string {
  try {
    return ns.exec('getent', ['ahostsv4', name], 10_000).split(/\s+/)[0] ?? '';
  } catch {
    return '';
  }
}

async function lookupUntil(ns: Netns, name: string, want: string, timeoutMs = 10_000): Promise<void> {
  await until(`${name} to resolve to ${want}`, () => lookup(ns, name) === want, timeoutMs);
}

rootTest(
  test,
  'a host in home and work pings and resolves members of both; down of one and a kick in one leave the other; a clashing range is refused',
  async (t) => {
    const { hosts } = lan(t, 'n2', 3);
    for (const h of hosts) h.etc({ 'resolv.conf': HOST_RESOLV });
    const root = stateRoot(t);
    const resolvConf = path.join('/etc/netns', hosts[2]!.name, 'resolv.conf');
    // Two admins, each on a machine of their own, each naming their member "b".
    const homeAdmin = new OverlayHost(hosts[0]!, path.join(root, 'home-admin'));
    const workAdmin = new OverlayHost(hosts[1]!, path.join(root, 'work-admin'));
    const laptop = new OverlayHost(hosts[2]!, path.join(root, 'laptop'));
    // A third admin's network, lab, whose range is home's: for the clash at the end.
    const lab = new OverlayHost(hosts[1]!, path.join(root, 'lab-admin'));
    // The three networks are independent: they start side by side.
    const started = async (admin: OverlayHost, init: string[]) => {
      await admin.ok(['init', ...init]);
      await admin.ok(['up']);
      return (await admin.json<NodeStatus>(['status'])).self.addresses[0]!;
    };
    const [homeB, workB] = await Promise.all([
      started(homeAdmin, ['--name', 'b', '--network-name', 'home', '--subnet', '100.80.0.0/16']),
      started(workAdmin, ['--name', 'b', '--network-name', 'work', '--subnet', '100.90.0.0/16']),
      started(lab, [
        '--name',
        'l',
        '--network-name',
        'lab',
        '--subnet',
        '100.80.0.0/16',
        '--listen',
        '51900',
      ]),
    ]);

    // The laptop joins home as it always could, then work beside it.
    const homeCode = (await homeAdmin.json<{ code: string }>(['invite'])).code;
    await laptop.ok(['join', homeCode, '--name', 'm']);
    await laptop.ok(['up']);
    const workCode = (await workAdmin.json<{ code: string }>(['invite'])).code;
    const joined = await laptop.ok(['join', workCode, '--name', 'm']);
    t.regex(joined.stdout, /overlay up --state-dir \S+ --network work/, 'the next step names the network');
    t.true(fs.existsSync(path.join(laptop.stateDir, 'networks', 'work', 'network.json')));

    // With two networks, a command that needs one asks which, with the commands to paste.
    const which = await laptop.run(['up']);
    t.is(which.code, 2, which.stderr);
    t.is(which.stderr.trim().split('\n').length, 1, which.stderr);
    t.regex(which.stderr, /this host is in 2 networks \(home, work\): say which/);
    t.true(which.stderr.includes(`overlay up --state-dir ${laptop.stateDir} --network work`), which.stderr);
    await laptop.ok(['up', '--network', 'work']);

    // status with no network shows both: each its own interface, port and addresses.
    const all = await laptop.json<AllStatus>(['status']);
    t.deepEqual(
      all.networks.map((n) => n.name),
      ['home', 'work'],
    );
    const [home, work] = all.networks.map((n) => n.status!);
    t.regex(home!.self.interface, /^ovl\d+$/, 'the first network keeps the kernel-named interface');
    t.is(work!.self.interface, 'ovl-work');
    t.is(home!.self.listenPort, 51820);
    t.is(work!.self.listenPort, 51821);
    t.true(home!.self.addresses[0]!.startsWith('100.80.'));
    t.true(work!.self.addresses[0]!.startsWith('100.90.'));
    // Each range goes out its own network's interface: neither network carries the other's packets.
    t.regex(laptop.ns.ip('route', 'get', homeB), new RegExp(`dev ${home!.self.interface} `));
    t.regex(laptop.ns.ip('route', 'get', workB), /dev ovl-work /);
    const text = await laptop.ok(['status']);
    t.regex(text.stdout, /^network home \(home\.internal\)$/m);
    t.regex(text.stdout, /^network work \(work\.internal\)$/m);

    // Pings and names of both networks, at once: b.home.internal and b.work.internal are two machines.
    firstReplyWithin(laptop.ns, homeB, 15_000);
    firstReplyWithin(laptop.ns, workB, 15_000);
    await lookupUntil(laptop.ns, 'b.home.internal', homeB);
    await lookupUntil(laptop.ns, 'b.work.internal', workB);
    // Each network's resolver serves TCP too (RFC 7766), and answers its own zone only.
    const tcp = (server: string, name: string) =>
      laptop.ns.exec('dig', ['+tcp', '+short', '+time=2', '+tries=1', `@${server}`, name], 10_000).trim();
    t.is(tcp(work!.self.addresses[0]!, 'b.work.internal'), workB);
    t.is(tcp(home!.self.addresses[0]!, 'b.home.internal'), homeB);

    // down --network work: home stays up, and its names keep working; work's are gone.
    await laptop.ok(['down', '--network', 'work']);
    const afterDown = await laptop.json<AllStatus>(['status']);
    t.is(afterDown.networks.find((n) => n.name === 'work')?.error?.code, 'ENOTRUNNING');
    t.truthy(afterDown.networks.find((n) => n.name === 'home')?.status, 'home still answers');
    firstReplyWithin(laptop.ns, homeB, 5_000);
    t.is(lookup(laptop.ns, 'b.home.internal'), homeB);
    t.is(lookup(laptop.ns, 'b.work.internal'), '', "work's names went with it");
    const resolv = fs.readFileSync(resolvConf, 'utf8');
    t.false(resolv.includes('work.internal'), resolv);
    t.true(resolv.includes('home.internal'), resolv);

    // Back up; then the work admin kicks the laptop: home does not notice.
    await laptop.ok(['up', '--network', 'work']);
    await lookupUntil(laptop.ns, 'b.work.internal', workB);
    const homeBefore = (await laptop.json<NodeStatus>(['status', '--network', 'home'])).peers.map(
      (p) => p.name,
    );
    await workAdmin.ok(['kick', 'm']);
    await until(
      'the laptop to hear it was removed from work',
      () => lookup(laptop.ns, 'm.work.internal') === '',
      15_000,
    );
    const homeAfter = await laptop.json<NodeStatus>(['status', '--network', 'home']);
    t.deepEqual(
      homeAfter.peers.map((p) => p.name),
      homeBefore,
    );
    firstReplyWithin(laptop.ns, homeB, 5_000);
    t.is(lookup(laptop.ns, 'b.home.internal'), homeB);

    // A third network whose range is home's: refused in one line naming the clash and the fix,
    // and nothing of it written.
    const labCode = (await lab.json<{ code: string }>(['invite'])).code;
    const clash = await laptop.run(['join', labCode, '--name', 'm']);
    t.is(clash.code, 1, clash.stderr);
    t.is(clash.stderr.trim().split('\n').length, 1, clash.stderr);
    t.regex(
      clash.stderr,
      /lab's range 100\.80\.0\.0\/16 overlaps the network home's 100\.80\.0\.0\/16 on this host/,
    );
    t.regex(clash.stderr, /overlay leave --state-dir \S+ --network home/);
    t.false(fs.existsSync(path.join(laptop.stateDir, 'networks', 'lab')));

    await laptop.ok(['down', '--network', 'work']);
    await laptop.ok(['down', '--network', 'home']);
    t.is(fs.readFileSync(resolvConf, 'utf8'), HOST_RESOLV, 'byte for byte once both are down');
  },
);
