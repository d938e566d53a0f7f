/**
 * A second network made with the real CLI in a temp state directory (root's permissions, no
 * namespaces): where it goes, what it gets, how commands pick it, and an --subnet that clashes.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { runCli } from '../helpers/cli.js';
import { rootTest } from '../helpers/root.js';

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'init of a second network: networks/NAME, the next port, ovl-NAME, a range apart; commands then ask which, by flag or OVERLAY_NETWORK',
  async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-clinets-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const at = ['--state-dir', dir];
    const home = await runCli([
      'init',
      '--name',
      'a',
      '--network-name',
      'home',
      '--subnet',
      '100.80.0.0/16',
      '--json',
      ...at,
    ]);
    t.is(home.code, 0, home.stderr);
    t.like(JSON.parse(home.stdout), { stateDir: dir, listenPort: 51820, ipv4Subnet: '100.80.0.0/16' });
    t.false('interface' in JSON.parse(home.stdout), 'the first network keeps the kernel-named ovlN');

    const clash = await runCli(['init', '--network-name', 'work', '--subnet', '100.80.128.0/17', ...at]);
    t.is(clash.code, 1, clash.stderr);
    t.is(
      clash.stderr,
      "overlay: 100.80.128.0/17 overlaps the network home's 100.80.0.0/16 on this host (choose another --subnet, or leave it out and overlay picks a free one)\n",
    );
    t.false(fs.existsSync(path.join(dir, 'networks', 'work')), 'nothing written');

    const work = await runCli(['init', '--name', 'a', '--network', 'work', '--json', ...at]);
    t.is(work.code, 0, work.stderr);
    const made = JSON.parse(work.stdout) as {
      stateDir: string;
      listenPort: number;
      interface: string;
      ipv4Subnet: string;
    };
    t.is(made.stateDir, path.join(dir, 'networks', 'work'));
    t.is(made.listenPort, 51821);
    t.is(made.interface, 'ovl-work');
    t.not(made.ipv4Subnet, '100.80.0.0/16');
    t.is(fs.statSync(made.stateDir).mode & 0o777, 0o700);

    const which = await runCli(['whoami', ...at]);
    t.is(which.code, 2);
    t.is(
      which.stderr,
      `overlay: this host is in 2 networks (home, work): say which (overlay whoami --state-dir ${dir} --network home or overlay whoami --state-dir ${dir} --network work)\n`,
    );
    const byFlag = JSON.parse((await runCli(['whoami', '--network', 'work', '--json', ...at])).stdout);
    t.is(byFlag.stateDir, made.stateDir);
    const byEnv = await runCli(['whoami', '--json', ...at], { env: { OVERLAY_NETWORK: 'home' } });
    t.is(JSON.parse(byEnv.stdout).stateDir, dir);
    const unknown = await runCli(['whoami', '--network', 'lab', ...at]);
    t.is(unknown.code, 2);
    t.regex(unknown.stderr, /^overlay: this host is in no network named lab \(it is in home, work\)/);
    const again = await runCli(['init', '--network', 'work', ...at]);
    t.is(again.code, 2);
    t.regex(again.stderr, /already in a network named work/);
  },
  { alone: false },
);
