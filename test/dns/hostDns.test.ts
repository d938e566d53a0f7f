/**
 * The host's DNS changed and put back, on temp files and a host that records its commands: no
 * root, no /etc. What a user must be able to count on: `down` (or the next `up` after a crash)
 * gives back the file byte for byte, a file someone else rewrote is not clobbered, and a node that
 * cannot reach the host's lookups changes nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import {
  BACKUP_NAME,
  configureHostDns,
  type HostSystem,
  type NamespaceFacts,
  type Place,
  repairHostDns,
  resolvConfPlace,
} from '../../core/dns/hostDns.js';
import { markerFor, nameservers, withOverlay, withoutOverlay } from '../../core/dns/resolvConf.js';

const TARGET = { interface: 'ovl0', resolver: '100.80.0.1', zone: 'home.internal' };
/** Comments, two servers, a search list, options, no newline at the end, and a byte that is not UTF-8. */
const ORIGINAL = Buffer.concat([
  Buffer.from(
    '# made by hand\n; old comment\nnameserver 192.0.2.53\nnameserver 2001:db8::53\nsearch lan corp.example\noptions edns0 timeout:2\n# caf',
  ),
  Buffer.from([0xe9]),
]);

interface FakeHost extends HostSystem {
  commands: string[];
}

function fixture(
  t: ExecutionContext,
  options: { place?: Place; bindMount?: boolean; resolved?: boolean; failing?: boolean } = {},
) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-hostdns-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  const stateDir = path.join(root, 'state');
  fs.mkdirSync(stateDir, { mode: 0o700 });
  const resolvConf = path.join(root, 'resolv.conf');
  fs.writeFileSync(resolvConf, ORIGINAL, { mode: 0o644 });
  const host: FakeHost = {
    resolvConf,
    commands: [],
    place: () => options.place ?? { place: 'host' },
    isBindMount: (file) => (options.bindMount ?? false) && file === resolvConf,
    usesResolved: () => options.resolved ?? false,
    run(cmd, args) {
      host.commands.push([cmd, ...args].join(' '));
      if (options.failing)
        throw Object.assign(new Error('failed'), { stderr: 'Failed to set DNS: no link\n' });
    },
  };
  const backup = path.join(stateDir, `${BACKUP_NAME}.json`);
  return { stateDir, resolvConf, host, backup, read: () => fs.readFileSync(resolvConf) };
}

test('resolv.conf gets our resolver first and the zone first in search, and is put back byte for byte', (t) => {
  const f = fixture(t);
  t.deepEqual(configureHostDns(f.stateDir, TARGET, f.host), { mode: 'resolv.conf', path: f.resolvConf });
  const lines = f.read().toString('utf8').split('\n');
  t.is(lines[0], markerFor(TARGET.zone));
  t.is(lines[1], 'nameserver 100.80.0.1');
  t.true(lines.includes('nameserver 192.0.2.53'), 'the host’s own servers stay, after ours');
  t.true(lines.includes('search home.internal lan corp.example'));
  t.true(lines.includes('options edns0 timeout:2'));
  t.is(fs.statSync(f.backup).mode & 0o777, 0o600);
  t.regex(repairHostDns(f.stateDir, f.host)!, /put back/);
  t.deepEqual(f.read(), ORIGINAL);
  t.false(fs.existsSync(f.backup));
  t.is(repairHostDns(f.stateDir, f.host), undefined, 'nothing left to undo');
});

test('a plain file is replaced atomically and keeps its mode; a bind mount is written into the same inode', (t) => {
  const plain = fixture(t);
  fs.chmodSync(plain.resolvConf, 0o640);
  const before = fs.statSync(plain.resolvConf).ino;
  configureHostDns(plain.stateDir, TARGET, plain.host);
  const after = fs.statSync(plain.resolvConf);
  t.not(after.ino, before, 'renamed over');
  t.is(after.mode & 0o777, 0o640);
  t.deepEqual(
    fs.readdirSync(path.dirname(plain.resolvConf)).filter((n) => n.includes('overlay-')),
    [],
    'no temp file left',
  );

  const mounted = fixture(t, { bindMount: true });
  const inode = fs.statSync(mounted.resolvConf).ino;
  configureHostDns(mounted.stateDir, TARGET, mounted.host);
  t.is(fs.statSync(mounted.resolvConf).ino, inode);
  repairHostDns(mounted.stateDir, mounted.host);
  t.is(fs.statSync(mounted.resolvConf).ino, inode);
  t.deepEqual(mounted.read(), ORIGINAL);
});

test('a symlinked resolv.conf is written through the link, which stays a link', (t) => {
  const f = fixture(t);
  const link = path.join(path.dirname(f.resolvConf), 'link.conf');
  fs.symlinkSync(f.resolvConf, link);
  const host = { ...f.host, resolvConf: link };
  configureHostDns(f.stateDir, TARGET, host);
  t.true(fs.lstatSync(link).isSymbolicLink());
  t.regex(f.read().toString('utf8'), /^nameserver 100\.80\.0\.1$/m);
  repairHostDns(f.stateDir, host);
  t.true(fs.lstatSync(link).isSymbolicLink());
  t.deepEqual(f.read(), ORIGINAL);
});

test('after a crash, the next up puts the host’s file back before it changes it again, and down restores the original', (t) => {
  const f = fixture(t);
  configureHostDns(f.stateDir, TARGET, f.host);
  // kill -9: no restore. The next up configures again: its backup must be the host's file, not ours.
  configureHostDns(f.stateDir, { ...TARGET, resolver: '100.80.0.2' }, f.host);
  const text = f.read().toString('utf8');
  t.is(text.match(/^nameserver 100\.80/gm)!.length, 1, 'one resolver of ours, not two');
  t.regex(text, /^nameserver 100\.80\.0\.2$/m);
  repairHostDns(f.stateDir, f.host);
  t.deepEqual(f.read(), ORIGINAL);
});

test('a file another program rewrote since overlay did is left alone, and the backup forgotten', (t) => {
  const f = fixture(t);
  configureHostDns(f.stateDir, TARGET, f.host);
  fs.writeFileSync(f.resolvConf, 'nameserver 198.51.100.1\n');
  t.regex(repairHostDns(f.stateDir, f.host)!, /left .* alone/);
  t.is(f.read().toString(), 'nameserver 198.51.100.1\n');
  t.false(fs.existsSync(f.backup));
});

test("a node in a network namespace that shares init's resolv.conf changes nothing", (t) => {
  const f = fixture(t, { place: { place: 'shared', why: 'it is shared' }, resolved: true });
  t.deepEqual(configureHostDns(f.stateDir, TARGET, f.host), { mode: 'unchanged', why: 'it is shared' });
  t.deepEqual(f.read(), ORIGINAL);
  t.deepEqual(f.host.commands, [], 'not even systemd-resolved, which serves another namespace');
  t.false(fs.existsSync(f.backup));
  // With a file of its own (ip netns exec's bind mount), the file is changed, never resolved.
  const own = fixture(t, { place: { place: 'own' }, bindMount: true, resolved: true });
  t.is(configureHostDns(own.stateDir, TARGET, own.host).mode, 'resolv.conf');
  t.deepEqual(own.host.commands, []);
});

test('with systemd-resolved: split DNS on the interface, the file untouched, and revert on repair', (t) => {
  const f = fixture(t, { resolved: true });
  t.deepEqual(configureHostDns(f.stateDir, TARGET, f.host), { mode: 'resolved', interface: 'ovl0' });
  t.deepEqual(f.host.commands, ['resolvectl dns ovl0 100.80.0.1', 'resolvectl domain ovl0 ~home.internal']);
  t.deepEqual(f.read(), ORIGINAL);
  t.regex(repairHostDns(f.stateDir, f.host)!, /reverted/);
  t.is(f.host.commands.at(-1), 'resolvectl revert ovl0');
  t.false(fs.existsSync(f.backup));
});

test('a resolvectl that fails leaves nothing configured and says why in one line', (t) => {
  const f = fixture(t, { resolved: true, failing: true });
  const state = configureHostDns(f.stateDir, TARGET, f.host);
  t.deepEqual(state, { mode: 'unchanged', why: 'resolvectl failed: Failed to set DNS: no link' });
  t.false(fs.existsSync(f.backup));
  t.deepEqual(f.read(), ORIGINAL);
});

test('a damaged backup is refused naming the file, and the file it speaks of is not touched', (t) => {
  const f = fixture(t);
  fs.writeFileSync(f.backup, JSON.stringify({ version: 1, mode: 'resolv.conf', path: 'relative' }), {
    mode: 0o600,
  });
  t.throws(() => repairHostDns(f.stateDir, f.host), { message: new RegExp(`${BACKUP_NAME}\\.json`) });
  t.deepEqual(f.read(), ORIGINAL);
});

test("a named namespace's file is kept by its /etc/netns name, written in place, and restored from anywhere", (t) => {
  const f = fixture(t);
  const netnsFile = path.join(path.dirname(f.resolvConf), 'netns-resolv.conf');
  fs.writeFileSync(netnsFile, ORIGINAL);
  const inode = fs.statSync(netnsFile).ino;
  const inside = { ...f.host, place: (): Place => ({ place: 'own', file: netnsFile }) };
  t.deepEqual(configureHostDns(f.stateDir, TARGET, inside), { mode: 'resolv.conf', path: netnsFile });
  t.regex(fs.readFileSync(netnsFile, 'utf8'), /^nameserver 100\.80\.0\.1$/m);
  t.is(fs.statSync(netnsFile).ino, inode, 'in place: the mount keeps seeing it');
  t.deepEqual(f.read(), ORIGINAL, "the file by the other name (the machine's) untouched");
  // down run outside the namespace: the backup names the file.
  repairHostDns(f.stateDir, f.host);
  t.deepEqual(fs.readFileSync(netnsFile), ORIGINAL);
  t.is(fs.statSync(netnsFile).ino, inode);
  t.deepEqual(f.read(), ORIGINAL);
});

/** Facts as a machine shows them; `net` and files as device:inode. */
function facts(over: Partial<NamespaceFacts> & { netnsFiles?: Record<string, string> } = {}): NamespaceFacts {
  return {
    net: 'ns:1',
    initNet: 'ns:1',
    named: new Map(),
    resolvConf: 'etc:10',
    initResolvConf: 'etc:10',
    netnsResolvConf: (name) => over.netnsFiles?.[name],
    ...over,
  };
}

test('whose resolv.conf: the machine’s, a named namespace’s own, or one shared with the machine', (t) => {
  t.deepEqual(resolvConfPlace(facts()), { place: 'host' });
  // ip netns exec with /etc/netns/x/resolv.conf mounted over /etc/resolv.conf.
  const named = new Map([['x', 'ns:2']]);
  t.deepEqual(
    resolvConfPlace(facts({ net: 'ns:2', named, resolvConf: 'etc:20', netnsFiles: { x: 'etc:20' } })),
    { place: 'own', file: '/etc/netns/x/resolv.conf' },
  );
  // ip netns exec without one: the file is the machine's, even where the machine cannot be seen.
  for (const initNet of ['ns:1', undefined]) {
    const place = resolvConfPlace(facts({ net: 'ns:2', initNet, initResolvConf: undefined, named }));
    t.is(place.place, 'shared', String(initNet));
    t.regex(place.place === 'shared' ? place.why : '', /\/etc\/netns\/x\/resolv\.conf/);
  }
  // A file in /etc/netns that is not the one mounted (made after the namespace's command ran).
  t.is(resolvConfPlace(facts({ net: 'ns:2', named, netnsFiles: { x: 'etc:20' } })).place, 'shared');
  // An unnamed namespace (unshare, nsenter): its own file only if init sees another one.
  t.is(resolvConfPlace(facts({ net: 'ns:3' })).place, 'shared');
  t.is(resolvConfPlace(facts({ net: 'ns:3', resolvConf: 'etc:30' })).place, 'own');
  // An unnamed namespace where the machine's cannot be seen (its /run hidden too): left alone.
  t.is(
    resolvConfPlace(facts({ net: 'ns:3', initNet: undefined, initResolvConf: undefined })).place,
    'shared',
  );
  // No /proc at all: nothing to tell by, the machine's.
  t.is(resolvConfPlace(facts({ net: undefined, initNet: undefined })).place, 'host');
});

test('the nameservers glibc would ask: comments skipped, scoped link-local skipped, three at most', (t) => {
  const text = [
    '# nameserver 192.0.2.99',
    '; nameserver 192.0.2.98',
    'nameserver fe80::1%eth0',
    '  nameserver   192.0.2.1  ',
    'nameserver not-an-address',
    'nameserver 2001:DB8::1',
    'nameserver 192.0.2.2',
    'nameserver 192.0.2.3',
  ].join('\n');
  t.deepEqual(
    nameservers(text).map((e) => e.address),
    ['192.0.2.1', '2001:db8::1', '192.0.2.2'],
  );
});

test('the zone goes into the search line glibc obeys (the last one, search or domain), once', (t) => {
  t.regex(withOverlay('nameserver 192.0.2.1\n', TARGET.resolver, TARGET.zone), /^search home\.internal$/m);
  const two = withOverlay('search a.example\ndomain b.example\n', TARGET.resolver, TARGET.zone);
  t.regex(two, /^search a\.example$/m);
  t.regex(two, /^search home\.internal b\.example$/m);
  t.regex(
    withOverlay('search home.internal lan\n', TARGET.resolver, TARGET.zone),
    /^search home\.internal lan$/m,
  );
});

/** A second network's node on the same host: its own state directory, the same resolv.conf. */
function secondNode(f: ReturnType<typeof fixture>) {
  const stateDir = `${f.stateDir}-work`;
  fs.mkdirSync(stateDir, { mode: 0o700 });
  return stateDir;
}

const WORK = { interface: 'ovl-work', resolver: '100.90.0.1', zone: 'work.internal' };

for (const firstDown of ['home', 'work'] as const) {
  test(`two networks each add a layer to resolv.conf; ${firstDown} going down first leaves the other's right, and the last puts back the bytes`, (t) => {
    const f = fixture(t);
    const work = secondNode(f);
    configureHostDns(f.stateDir, TARGET, f.host);
    configureHostDns(work, WORK, f.host);
    const both = f.read().toString('utf8');
    t.deepEqual(
      both.split('\n').filter((l) => l.startsWith('nameserver')),
      ['nameserver 100.90.0.1', 'nameserver 100.80.0.1', 'nameserver 192.0.2.53', 'nameserver 2001:db8::53'],
    );
    t.is(
      both
        .split('\n')
        .filter((l) => l.startsWith('search'))
        .at(-1),
      'search work.internal home.internal lan corp.example',
    );
    t.deepEqual(
      nameservers(both).map((e) => e.address),
      ['192.0.2.53', '2001:db8::53'],
      "a resolver forwards only to the host's own, never to the other network's",
    );
    const [down, stays] = firstDown === 'home' ? [f.stateDir, work] : [work, f.stateDir];
    const [gone, kept] = firstDown === 'home' ? [TARGET, WORK] : [WORK, TARGET];
    repairHostDns(down, f.host);
    const one = f.read().toString('utf8');
    t.false(one.includes(gone.resolver), `${gone.zone}'s resolver is gone:\n${one}`);
    t.false(one.includes(gone.zone), `${gone.zone} is gone from the search lines:\n${one}`);
    t.is(one.split('\n')[1], `nameserver ${kept.resolver}`, `${kept.zone}'s resolver is still asked first`);
    t.is(
      one
        .split('\n')
        .filter((l) => l.startsWith('search'))
        .at(-1),
      `search ${kept.zone} lan corp.example`,
    );
    repairHostDns(stays, f.host);
    t.deepEqual(f.read(), ORIGINAL, 'byte for byte once both are down');
  });
}

test('with systemd-resolved, two networks each set their own interface, and down of one reverts only its own', (t) => {
  const f = fixture(t, { resolved: true });
  const work = secondNode(f);
  configureHostDns(f.stateDir, TARGET, f.host);
  configureHostDns(work, WORK, f.host);
  repairHostDns(work, f.host);
  t.deepEqual(f.host.commands, [
    'resolvectl dns ovl0 100.80.0.1',
    'resolvectl domain ovl0 ~home.internal',
    'resolvectl dns ovl-work 100.90.0.1',
    'resolvectl domain ovl-work ~work.internal',
    'resolvectl revert ovl-work',
  ]);
  t.deepEqual(f.read(), ORIGINAL);
});

test('withoutOverlay gives back what withOverlay was given, newline at the end or not, empty or not', (t) => {
  for (const original of [
    '',
    '\n',
    'nameserver 192.0.2.1',
    'nameserver 192.0.2.1\n',
    'domain a.example\n\n',
  ]) {
    const once = withOverlay(original, TARGET.resolver, TARGET.zone);
    t.is(withoutOverlay(once, TARGET.zone), original, JSON.stringify(original));
    const twice = withOverlay(once, WORK.resolver, WORK.zone);
    t.is(
      withoutOverlay(withoutOverlay(twice, TARGET.zone)!, WORK.zone),
      original,
      `both, under first: ${JSON.stringify(original)}`,
    );
  }
  t.is(withoutOverlay('nameserver 192.0.2.1\n', TARGET.zone), undefined, 'no layer of that zone');
});
