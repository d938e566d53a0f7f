/**
 * A user who is not root sees every network of root's host (issue 14: "`overlay status` with no
 * network shows them all"), through each node's read-only socket, with the same limits as for the
 * first: status, no secrets, no admin commands. "nobody" (uid 65534) plays the user; the state
 * directory is root's (0700), so the user cannot list its networks and finds their nodes instead.
 */
import fs from 'node:fs';
import path from 'node:path';
import test from 'ava';
import { EXIT } from '../../cli/exitCodes.js';
import type { NodeStatus } from '../../core/node/status.js';
import { type CliResult, runCli } from '../helpers/cli.js';
import { OverlayHost } from '../helpers/lan.js';
import { Netns } from '../helpers/netns.js';
import { stateRoot } from '../helpers/overlayNetwork.js';
import { rootTest } from '../helpers/root.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];

interface AllStatus {
  networks: { name: string; stateDir: string; status?: NodeStatus; error?: { code: string } }[];
}

rootTest(
  test,
  "a user's overlay status shows every running network of root's host, read-only like the first",
  async (t) => {
    const ns = new Netns('ust');
    t.teardown(() => ns.destroy());
    ns.etc({ 'resolv.conf': 'nameserver 192.0.2.250\n' });
    const root = stateRoot(t);
    const host = new OverlayHost(ns, path.join(root, 'host'));
    await host.ok(['init', '--name', 'a', '--network-name', 'home', '--subnet', '100.80.0.0/16']);
    await host.ok(['init', '--name', 'a', '--network-name', 'work', '--subnet', '100.90.0.0/16']);
    await host.ok(['up', '--network', 'home']);
    await host.ok(['up', '--network', 'work']);
    t.is(fs.statSync(host.stateDir).mode & 0o777, 0o700, "root's state directory is closed to users");
    // The user: nobody, in the host's namespace, with root's state directory named.
    const user = {
      run: (args: string[]): Promise<CliResult> =>
        runCli([...args, '--state-dir', host.stateDir], {
          prefix: ['ip', 'netns', 'exec', ns.name, ...NOBODY],
          env: { HOME: '/nonexistent' },
          timeoutMs: 30_000,
        }),
    };

    // Both networks, each its own node's status, as root sees them.
    const started = Date.now();
    const all = await user.run(['status', '--json']);
    t.log(`the user's status of all networks took ${Date.now() - started} ms`);
    t.is(all.code, 0, all.stderr);
    const shown = JSON.parse(all.stdout) as AllStatus;
    t.deepEqual(
      shown.networks.map((n) => [n.name, n.stateDir]),
      [
        ['home', host.stateDir],
        ['work', path.join(host.stateDir, 'networks', 'work')],
      ],
    );
    const [home, work] = shown.networks.map((n) => n.status!);
    t.true(home!.self.addresses[0]!.startsWith('100.80.'));
    t.true(work!.self.addresses[0]!.startsWith('100.90.'));
    t.is(work!.self.interface, 'ovl-work');
    const rootsWork = await host.json<NodeStatus>(['status', '--network', 'work']);
    t.is(work!.self.publicKey, rootsWork.self.publicKey);
    // Nothing secret crosses: no private key of either node in what the user got.
    const secrets = ['home', 'work'].map((n) =>
      fs.readFileSync(
        path.join(n === 'home' ? host.stateDir : shown.networks[1]!.stateDir, 'identity.json'),
        'utf8',
      ),
    );
    for (const identity of secrets) {
      const keys = [...identity.matchAll(/"(?:privateKey|secretKey)"\s*:\s*"([^"]+)"/g)].map((m) => m[1]!);
      t.true(keys.length > 0, 'the identity file holds private keys to look for');
      for (const k of keys) t.false(all.stdout.includes(k), 'a private key reached the user');
    }
    const text = await user.run(['status']);
    t.is(text.code, 0, text.stderr);
    t.regex(text.stdout, /^network home \(home\.internal\)$/m);
    t.regex(text.stdout, /^network work \(work\.internal\)$/m);
    // Named, the second network answers alone.
    const named = await user.run(['status', '--network', 'work', '--json']);
    t.is(named.code, 0, named.stderr);
    t.is((JSON.parse(named.stdout) as NodeStatus).self.publicKey, rootsWork.self.publicKey);

    // The same limits as the first network's: an admin command on work needs root, and work runs on.
    for (const args of [['invite'], ['down'], ['kick', 'b']]) {
      const r = await user.run([...args, '--network', 'work']);
      t.is(r.code, EXIT.permission, `${args[0]}: ${r.stderr}`);
      t.regex(r.stderr, /needs root/, r.stderr);
    }
    t.is((await host.json<NodeStatus>(['status', '--network', 'work'])).self.name, 'a');
    t.deepEqual(await host.json(['invite', 'list', '--network', 'work']), []);

    // A network whose node is down is not seen by the user; the other still is.
    await host.ok(['down', '--network', 'home']);
    const one = await user.run(['status', '--json']);
    t.is(one.code, 0, one.stderr);
    t.deepEqual(
      (JSON.parse(one.stdout) as AllStatus).networks.map((n) => n.name),
      ['work'],
    );
    await host.ok(['down', '--network', 'work']);
  },
);
