/**
 * The user's story end to end, as root, on a LAN segment of network namespaces this file makes:
 * init, invite, join, up; everyone reaches everyone; kick; a plain WireGuard device; restarts.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import type { NodeStatus } from '../core/node/status.js';
import { cliPath } from './helpers/cli.js';
import { until } from './helpers/jsonLines.js';
import { lan, OverlayHost } from './helpers/lan.js';
import { everyoneKnowsEveryone, network, stateRoot, status } from './helpers/overlayNetwork.js';
import { firstReplyWithin, ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';
import { WireguardGo } from './helpers/wireguardGo.js';

rootTest(
  test,
  'three members on a LAN: everyone reaches everyone over IPv4 and IPv6, directly',
  async (t) => {
    const nodes = await network(t, 'n3', ['a', 'b', 'c']);
    const learnMs = await everyoneKnowsEveryone(nodes, 10_000);
    t.log(`all three knew each other ${learnMs} ms after the last up`);
    const selves = await Promise.all(nodes.map(status));
    for (const [i, from] of nodes.entries()) {
      for (const [j, to] of selves.entries()) {
        if (i === j) continue;
        const [v4, v6] = to.self.addresses;
        const r4 = ping(from.ns, v4!, 2);
        t.is(r4.received, 2, `${selves[i]!.self.name} -> ${to.self.name} ${v4}: ${r4.output}`);
        t.is(ping(from.ns, v6!, 2).received, 2, `${selves[i]!.self.name} -> ${to.self.name} ${v6}`);
      }
    }
    for (const node of nodes) {
      const s = await status(node);
      t.is(s.peers.length, 2);
      for (const p of s.peers) {
        t.like(p, { online: true, path: 'direct', via: null }, `${s.self.name} sees ${p.name}`);
        t.true(p.rxBytes > 0 && p.lastHandshake !== null);
      }
    }
  },
);

rootTest(
  test,
  'kick: within 10 s no member reaches the kicked one, and its handshakes are refused',
  async (t) => {
    const [a, b, c] = await network(t, 'nk', ['a', 'b', 'c']);
    await everyoneKnowsEveryone([a!, b!, c!], 10_000);
    const cAddr = (await status(c!)).self.addresses[0]!;
    const aAddr = (await status(a!)).self.addresses[0]!;
    t.is(ping(b!.ns, cAddr, 1).received, 1);
    // c's roster before the kick: a kicked member that ignores its revocation
    const cRoster = readFileSync(join(c!.stateDir, 'roster.json'));
    const kickedAt = Date.now();
    await a!.ok(['kick', 'c']);
    await until(
      'b to drop c',
      () => {
        const s = JSON.parse(readFileSync(join(b!.stateDir, 'roster.json'), 'utf8')) as {
          records: { id: string }[];
        };
        return s.records.some((r) => r.id.startsWith('revoke:'));
      },
      10_000,
    );
    const bStatus = await status(b!);
    t.false(
      bStatus.peers.some((p) => p.name === 'c'),
      'b no longer lists c',
    );
    t.log(`b dropped c ${Date.now() - kickedAt} ms after the kick`);
    t.is(ping(a!.ns, cAddr, 2).received, 0);
    t.is(ping(b!.ns, cAddr, 2).received, 0);
    // c, restarted with its roster from before the kick (as if it never heard of its
    // revocation), tries fresh handshakes: a refuses them.
    await c!.ok(['down']);
    writeFileSync(join(c!.stateDir, 'roster.json'), cRoster, { mode: 0o600 });
    await c!.ok(['up']);
    t.is(ping(c!.ns, aAddr, 3).received, 0);
    const counters = (await status(a!)).counters;
    t.true(counters['handshakesRefused']! > 0, JSON.stringify(counters));
    // Members that behave ask before they introduce: status shows discovery's refusals, and none.
    t.is(counters['discovery.unaskedIntroductions'], 0, JSON.stringify(counters));
    t.is(counters['discovery.refusedProbes'], 0, JSON.stringify(counters));
  },
);

function parseWgQuick(config: string): {
  privateKey: string;
  addresses: string[];
  peer: Record<string, string>;
} {
  const get = (key: string) => new RegExp(`^${key} = (.+)$`, 'm').exec(config)?.[1] ?? '';
  return {
    privateKey: get('PrivateKey'),
    addresses: get('Address').split(', '),
    peer: { publicKey: get('PublicKey'), allowedIps: get('AllowedIPs'), endpoint: get('Endpoint') },
  };
}

rootTest(
  test,
  'a plain wireguard-go device from invite --wireguard reaches a node and, through it, another member',
  async (t) => {
    const { hosts } = lan(t, 'nw', 3);
    const root = stateRoot(t);
    const a = new OverlayHost(hosts[0]!, join(root, 'a'));
    const b = new OverlayHost(hosts[1]!, join(root, 'b'));
    await a.ok(['init', '--name', 'a']);
    await a.ok(['up']);
    await b.ok(['join', (await a.json<{ code: string }>(['invite'])).code, '--name', 'b']);
    await b.ok(['up']);
    const device = await a.json<{ config: string; address: string }>(['invite', '--wireguard', 'phone']);
    const conf = parseWgQuick(device.config);
    t.regex(conf.peer['endpoint']!, /^192\.0\.2\.1:51820$/);
    const wg = await WireguardGo.start(hosts[2]!, {
      privateKey: conf.privateKey,
      listenPort: 51820,
      addresses: conf.addresses.map((x) =>
        x.replace(/\/(32|128)$/, (_m, bits) => (bits === '32' ? '/16' : '/64')),
      ),
      peers: [
        {
          publicKey: conf.peer['publicKey']!,
          allowedIps: conf.peer['allowedIps']!.split(', '),
          endpoint: conf.peer['endpoint']!,
          persistentKeepalive: 25,
        },
      ],
    });
    t.teardown(() => wg.stop());
    await everyoneKnowsEveryone([a, b], 10_000);
    // b learns of the device by gossip and routes it through a
    await until('b to know the device', () => true, 1);
    const [aAddr, bAddr] = [(await status(a)).self.addresses[0]!, (await status(b)).self.addresses[0]!];
    t.is(ping(hosts[2]!, aAddr, 3).received, 3, 'device -> a');
    let r = ping(hosts[2]!, bAddr, 3);
    for (let i = 0; i < 10 && r.received < 3; i++) r = ping(hosts[2]!, bAddr, 3); // until b has the route
    t.is(r.received, 3, `device -> b through a: ${r.output}`);
    t.is(ping(b.ns, device.address, 3).received, 3, 'b -> device through a');
    const bSees = (await status(b)).peers.find((p) => p.name === 'phone');
    t.like(bSees, { path: 'relay', via: 'a' });

    // The config as printed: its private key shown this once, and said so.
    const tablet = await a.ok(['invite', '--wireguard', 'tablet']);
    t.regex(
      tablet.stdout,
      /^# wg-quick config for "tablet" \(\S+\); keep it secret: its private key is shown only this once and kept nowhere\n\[Interface\]\nPrivateKey = \S{44}\n/,
    );
    t.is(tablet.stderr, '', 'a public endpoint (192.0.2.1) gets no warning');
    // A device that made its own key: only its public key crosses, and the config says whose to use.
    const own = execFileSync('sh', ['-c', 'wg genkey | wg pubkey'], { encoding: 'utf8' }).trim();
    const watch = await a.ok(['invite', '--wireguard', 'watch', '--pubkey', own]);
    t.notRegex(watch.stdout, /^PrivateKey = /m);
    t.regex(watch.stdout, /^# PrivateKey = the private key this device made/m);
    t.notRegex(watch.stdout, /shown only this once/);
    const watchSeen = (await status(a)).peers.find((p) => p.name === 'watch');
    t.is(watchSeen?.publicKey, own);
    const bad = await a.run(['invite', '--wireguard', 'clock', '--pubkey', 'not-a-key']);
    t.is(bad.code, 2, bad.stderr);
    t.regex(
      bad.stderr,
      /^overlay: --pubkey "not-a-key" is not a WireGuard public key \(the 44-character base64 key `wg pubkey` prints\)\n$/,
    );
  },
);

rootTest(
  test,
  'restart: down then up, and kill -9 then up, bring the mesh back within 5 s, same addresses and keys',
  async (t) => {
    const [a, b] = await network(t, 'nr', ['a', 'b']);
    const before = await Promise.all([status(a!), status(b!)]);
    const [aAddr, bAddr] = before.map((s) => s.self.addresses[0]!);
    t.is(ping(a!.ns, bAddr!, 1).received, 1);

    await a!.ok(['down']);
    await a!.ok(['up']);
    const afterDown = firstReplyWithin(a!.ns, bAddr!, 5000);

    await b!.kill9();
    await b!.ok(['up']);
    const afterKill = firstReplyWithin(b!.ns, aAddr!, 5000);
    t.log(`pings back ${afterDown} ms after down/up, ${afterKill} ms after kill -9/up`);
    const after = await Promise.all([status(a!), status(b!)]);
    for (const [i, s] of after.entries()) {
      t.deepEqual(s.self.addresses, before[i]!.self.addresses);
      t.is(s.self.publicKey, before[i]!.self.publicKey);
    }
  },
);

rootTest(
  test,
  'a second up says the node runs; a non-admin cannot invite; Ctrl-C in the foreground shuts down cleanly',
  async (t) => {
    const [a, b] = await network(t, 'nf', ['a', 'b']);
    // up of a node that is up succeeds and says so (issue 15: idempotent, as tailscale up)
    const again = await a!.run(['up']);
    t.is(again.code, 0, again.stderr);
    t.regex(again.stdout, /^overlay is already up: a is /);
    const pinged = await a!.ok(['ping', 'b', '-c', '2', '--json']);
    const pongs = pinged.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { seq: number; rttMs: number; endpoint: string; path: string });
    t.is(pongs.length, 2);
    for (const p of pongs) t.like(p, { path: 'direct', endpoint: '192.0.2.2:51820' });
    t.true(pongs.every((p) => p.rttMs > 0 && p.rttMs < 1000));
    const human = await a!.ok(['ping', 'b', '-c', '1']);
    t.regex(human.stdout, /^pong from b \(100\.[\d.]+\) via 192\.0\.2\.2:51820 \(direct\) in [\d.]+ ms$/m);
    const nobody = await a!.run(['ping', 'nobody']);
    t.is(nobody.code, 2);
    t.regex(nobody.stderr, /no member is named/);
    const listed = await a!.json<{ name: string; online: boolean }[]>(['peers']);
    t.like(listed, [{ name: 'b' }]);
    // --watch streams: the first line comes at once; the stream runs until interrupted
    const watch = a!.ns.spawn(
      process.execPath,
      [cliPath, 'status', '--json', '--watch', '--state-dir', a!.stateDir],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    );
    const firstLine = await new Promise<string>((resolve) => {
      let out = '';
      watch.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(out.split('\n')[0]!);
      });
    });
    t.is((JSON.parse(firstLine) as NodeStatus).self.name, 'a');
    watch.kill('SIGINT');
    t.is(await new Promise<number | null>((resolve) => watch.on('exit', (code) => resolve(code))), 0);
    const notAdmin = await b!.run(['invite']);
    t.is(notAdmin.code, 1);
    t.regex(notAdmin.stderr, /only an admin/);

    await b!.ok(['down']);
    const fg = b!.ns.spawn(process.execPath, [cliPath, 'up', '--foreground', '--state-dir', b!.stateDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    fg.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await until('the foreground node to run', () => log.includes('running'), 10_000);
    t.regex(b!.ns.ip('link', 'show'), /ovl\d+/);
    fg.kill('SIGINT');
    const exit = await new Promise<number | null>((resolve) => fg.on('exit', (code) => resolve(code)));
    t.is(exit, 0, log); // a clean shutdown on request is a success
    t.notRegex(b!.ns.ip('link', 'show'), /ovl\d+/, 'the interface is gone');
    t.false(existsSync(join(b!.stateDir, 'control.sock')));
    t.false(existsSync(join(b!.stateDir, 'overlay.pid')));
  },
);

rootTest(
  test,
  'up remembers --no-relay and --stun for the next up; --relay and --no-stun undo them',
  async (t) => {
    const { hosts } = lan(t, 'nr', 1);
    const a = new OverlayHost(hosts[0]!, join(stateRoot(t), 'a'));
    await a.ok(['init', '--name', 'a']);
    const self = async () => (await a.json<NodeStatus>(['status'])).self;
    const clash = await a.run(['up', '--relay', '--no-relay']);
    t.is(clash.code, 2);
    t.regex(clash.stderr, /contradict/);
    const said = await a.ok(['up', '--no-relay', '--stun', '192.0.2.99:3478']);
    t.regex(said.stdout, /relays for no one; STUN 192\.0\.2\.99:3478$/m);
    t.like(await self(), { relay: false, stun: [{ server: '192.0.2.99:3478' }] });
    await a.ok(['down']);
    await a.ok(['up']);
    t.like(await self(), { relay: false, stun: [{ server: '192.0.2.99:3478' }] }, 'remembered');
    // Refused while running: nothing changes.
    t.not((await a.run(['up', '--relay'])).code, 0);
    await a.ok(['down']);
    await a.ok(['up']);
    t.is((await self()).relay, false);
    await a.ok(['down']);
    await a.ok(['up', '--relay', '--no-stun']);
    const back = await self();
    t.is(back.relay, true);
    t.is(back.stun, undefined);
    await a.ok(['down']);
    const file = JSON.parse(readFileSync(join(a.stateDir, 'network.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    t.like(file, { relay: true, stun: [] });
  },
);

rootTest(
  test,
  'invite --wireguard warns when the Endpoint it gives the device is a LAN address',
  async (t) => {
    const { hosts } = lan(t, 'nl', 1);
    const a = new OverlayHost(hosts[0]!, join(stateRoot(t), 'a'));
    await a.ok(['init', '--name', 'a', '--endpoint', '198.18.0.9:51820']);
    await a.ok(['up']);
    const phone = await a.ok(['invite', '--wireguard', 'phone']);
    t.regex(phone.stdout, /^Endpoint = 198\.18\.0\.9:51820$/m);
    t.is(
      phone.stderr,
      'overlay: warning: the config\'s Endpoint 198.18.0.9:51820 is a LAN address: "phone" reaches this node only from this network (a public address or port forward: overlay up --endpoint HOST:PORT)\n',
    );
    // The hint can be followed: the next start announces the given address first, and remembers it.
    await a.ok(['down']);
    await a.ok(['up', '--endpoint', '192.0.2.1:51820']);
    const tablet = await a.ok(['invite', '--wireguard', 'tablet']);
    t.regex(tablet.stdout, /^Endpoint = 192\.0\.2\.1:51820$/m);
    t.is(tablet.stderr, '');
    await a.ok(['down']);
    await a.ok(['up']);
    t.regex(
      (await a.ok(['invite', '--wireguard', 'watch'])).stdout,
      /^Endpoint = 192\.0\.2\.1:51820$/m,
      'remembered',
    );
  },
);
