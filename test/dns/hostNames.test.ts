/**
 * The host's DNS end to end, as root, in network namespaces whose /etc/resolv.conf is their own
 * (/etc/netns/NAME/resolv.conf, bind-mounted by `ip netns exec`): programs find members by their
 * short names, `down` puts the file back byte for byte in the same inode, a `kill -9` is repaired
 * by the next `down` or `up`, and `up --no-dns` leaves the file alone.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { markerFor } from '../../core/dns/resolvConf.js';

const MARKER = markerFor('home.internal');

import { runCli } from '../helpers/cli.js';
import { OverlayHost } from '../helpers/lan.js';
import { dig, namedNetwork, OUTSIDE_ADDRESS } from '../helpers/namedNetwork.js';
import { Netns } from '../helpers/netns.js';
import { everyoneKnowsEveryone, stateRoot, status } from '../helpers/overlayNetwork.js';
import { rootTest } from '../helpers/root.js';

/** The file `ip netns exec` shows as /etc/resolv.conf in a host's namespace. */
function resolvConfOf(ns: { name: string }): string {
  return path.join('/etc/netns', ns.name, 'resolv.conf');
}

rootTest(
  test,
  'programs find members by short name through the search domain; down puts resolv.conf back in the same inode',
  async (t) => {
    const world = await namedNetwork(t, 'hg', ['a', 'b'], { resolvConfTail: 'search lan.example\n' });
    const [a, b] = world.nodes;
    await everyoneKnowsEveryone([a!, b!], 10_000);
    const file = resolvConfOf(a!.ns);
    const sa = await status(a!);
    t.like(
      sa.self.names?.host,
      { mode: 'resolv.conf', path: file },
      'named so that down works from anywhere',
    );
    const text = fs.readFileSync(file, 'utf8');
    t.true(text.startsWith(`${MARKER}\nnameserver ${sa.self.addresses[0]}\n`), text);
    t.regex(text, /^search home\.internal lan\.example$/m);

    const [bV4, bV6] = (await status(b!)).self.addresses;
    const short = a!.ns.exec('getent', ['hosts', 'b']);
    t.regex(short, new RegExp(`^(${bV4}|${bV6!.replaceAll('.', '\\.')})\\s+b\\.home\\.internal`), short);
    t.regex(
      a!.ns.exec('getent', ['ahostsv4', 'b.home.internal']),
      new RegExp(`^${bV4!.replaceAll('.', '\\.')}\\s`),
    );
    t.regex(
      a!.ns.exec('getent', ['hosts', 'outside.test']),
      new RegExp(`^${OUTSIDE_ADDRESS.replaceAll('.', '\\.')}\\s`),
    );

    const inode = fs.statSync(file).ino;
    await a!.ok(['down']);
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf, 'byte for byte');
    t.is(fs.statSync(file).ino, inode, 'the same inode: it is a bind mount');
    t.false(fs.existsSync(path.join(a!.stateDir, 'dns-backup.json')));
  },
);

rootTest(
  test,
  'after kill -9 the next down (from anywhere) puts resolv.conf back; the next up repairs before it changes it',
  async (t) => {
    const world = await namedNetwork(t, 'hk', ['a']);
    const [a] = world.nodes;
    const file = resolvConfOf(a!.ns);
    const aV4 = (await status(a!)).self.addresses[0]!;
    t.not(fs.readFileSync(file, 'utf8'), world.resolvConf);
    await a!.kill9();
    t.regex(fs.readFileSync(file, 'utf8'), new RegExp(`^nameserver ${aV4}$`, 'm'), 'a dead resolver first');
    // down from outside the namespace, as an admin cleaning up might: the backup names the file.
    const down = await runCli(['down', '--state-dir', a!.stateDir]);
    t.is(down.code, 0, down.stderr);
    t.true(down.stdout.includes(`host DNS: put back ${file} as it was`), down.stdout);
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf);

    await a!.ok(['up']);
    await a!.kill9();
    await a!.ok(['up']);
    const text = fs.readFileSync(file, 'utf8');
    t.is(
      text.split(MARKER).length,
      3,
      `overlay's layer once (a marker above its nameserver and its search line), not twice:\n${text}`,
    );
    t.is((text.match(/^nameserver /gm) ?? []).length, 2, text);
    t.deepEqual(dig(a!.ns, aV4, 'a.home.internal').answers, [aV4]);
    await a!.ok(['down']);
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf);
  },
);

rootTest(
  test,
  'up --no-dns leaves resolv.conf alone and is remembered; up --dns turns it back on',
  async (t) => {
    const world = await namedNetwork(t, 'hn', ['a'], { upFlags: ['--no-dns'] });
    const [a] = world.nodes;
    const file = resolvConfOf(a!.ns);
    const s = await status(a!);
    t.like(s.self.names, { zone: 'home.internal', resolver: s.self.addresses[0], host: { mode: 'off' } });
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf);
    t.deepEqual(
      dig(a!.ns, s.self.addresses[0]!, 'a.home.internal').answers,
      [s.self.addresses[0]],
      'still answered',
    );
    await a!.ok(['down']);
    await a!.ok(['up']);
    t.like((await status(a!)).self.names?.host, { mode: 'off' }, 'remembered');
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf);
    await a!.ok(['down']);
    await a!.ok(['up', '--dns']);
    t.like((await status(a!)).self.names?.host, { mode: 'resolv.conf' });
    await a!.ok(['down']);
    t.is(fs.readFileSync(file, 'utf8'), world.resolvConf);
  },
);

rootTest(
  test,
  "a node in a namespace without a resolv.conf of its own leaves the machine's alone",
  async (t) => {
    const ns = new Netns('hs');
    t.teardown(() => ns.destroy());
    const a = new OverlayHost(ns, path.join(stateRoot(t), 'a'));
    const machine = fs.readFileSync('/etc/resolv.conf');
    // Should this regress, the machine gets its file back, into the same inode, whatever else fails.
    t.teardown(() => {
      if (!fs.readFileSync('/etc/resolv.conf').equals(machine)) fs.writeFileSync('/etc/resolv.conf', machine);
    });
    await a.ok(['init', '--name', 'a', '--network-name', 'home']);
    await a.ok(['up']);
    const s = await status(a);
    t.like(s.self.names, { resolver: s.self.addresses[0], host: { mode: 'unchanged' } });
    t.regex(s.self.names?.host.mode === 'unchanged' ? s.self.names.host.why : '', /shares the host's/);
    t.deepEqual(fs.readFileSync('/etc/resolv.conf'), machine);
    t.false(fs.existsSync(path.join(a.stateDir, 'dns-backup.json')));
    await a.ok(['down']);
    t.deepEqual(fs.readFileSync('/etc/resolv.conf'), machine);
  },
);
