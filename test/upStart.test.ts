/**
 * `overlay up` as a user runs it, in a namespace: racing starts leave one node, and each way a
 * start fails reaches the user as its own one-line message and exit code, carried from the node
 * as an error code (never re-read from its log).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { EXIT } from '../cli/exitCodes.js';
import { nodeLockState } from '../core/daemon/nodeLock.js';
import { isProcessAlive, pidFilePath, readPidFile } from '../core/daemon/pidFile.js';
import { waitUntil } from '../core/daemon/wait.js';
import { type CliResult, runCli } from './helpers/cli.js';
import { Netns } from './helpers/netns.js';
import { rootTest } from './helpers/root.js';
import { inPrivateMounts } from './helpers/tun-agent.js';

const RACERS = 5;

function stateDir(t: ExecutionContext): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-up-'));
  t.teardown(() => fs.rmSync(root, { recursive: true, force: true }));
  return path.join(root, 'a');
}

/** A namespace with a network member's state, not running. */
async function member(t: ExecutionContext, tag: string): Promise<{ ns: Netns; dir: string }> {
  const ns = new Netns(tag);
  t.teardown(() => ns.destroy());
  const dir = stateDir(t);
  const init = await runCli(['init', '--name', 'a', '--state-dir', dir]);
  t.is(init.code, 0, init.stderr);
  return { ns, dir };
}

/** `overlay ARGS` in `ns`; `mountSetup` runs first in a private mount namespace of its own. */
function overlayIn(
  ns: Netns,
  dir: string,
  args: string[],
  mountSetup?: string,
  timeoutMs = 30_000,
): Promise<CliResult> {
  const prefix = ['ip', 'netns', 'exec', ns.name];
  if (mountSetup) prefix.push(...inPrivateMounts(mountSetup));
  return runCli([...args, '--state-dir', dir], { prefix, timeoutMs });
}

function ovlLinks(ns: Netns): string[] {
  const links = JSON.parse(ns.ip('-j', 'link', 'show')) as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n.startsWith('ovl'));
}

function assertOneLine(t: ExecutionContext, r: CliResult): void {
  t.is(r.stderr.split('\n').filter(Boolean).length, 1, r.stderr);
  t.true(r.stderr.startsWith('overlay: '), r.stderr);
}

/** After a failed start: no node, no lock, no pid file, no interface. */
function nothingLeft(t: ExecutionContext, ns: Netns, dir: string): void {
  t.deepEqual(nodeLockState(dir), { held: false });
  t.false(fs.existsSync(pidFilePath(dir)));
  t.deepEqual(ovlLinks(ns), []);
}

rootTest(
  test,
  'after kill -9, racing ups bring up exactly one node and one interface; down finds it',
  async (t) => {
    const { ns, dir } = await member(t, 'uprace');
    const first = await overlayIn(ns, dir, ['up']);
    t.is(first.code, 0, first.stderr);
    const killed = readPidFile(dir)!;
    process.kill(killed, 'SIGKILL');
    t.true(await waitUntil(() => !isProcessAlive(killed), 5000));
    t.true(await waitUntil(() => ovlLinks(ns).length === 0, 5000), 'the kernel removes a dead node’s TUN');

    // Five node processes starting at once on a shared machine: allow each `up` a full minute.
    const results = await Promise.all(
      Array.from({ length: RACERS }, () => overlayIn(ns, dir, ['up'], undefined, 60_000)),
    );
    // `up` is idempotent: every racer succeeds; one started the node, the others found it up.
    for (const r of results) t.is(r.code, 0, results.map((x) => `${x.code}: ${x.stderr}`).join(' | '));
    const started = results.filter((r) => r.stdout.startsWith('overlay is up: a is '));
    const found = results.filter((r) => r.stdout.startsWith('overlay is already up: a is '));
    t.is(started.length, 1, results.map((r) => r.stdout).join(' | '));
    t.is(found.length, RACERS - 1);
    t.is(ovlLinks(ns).length, 1);
    const running = nodeLockState(dir);
    t.true(running.held);
    t.is(readPidFile(dir), running.held ? running.pid : -1, 'the pid file names the node that runs');

    // With new settings, an `up` of a running node is refused: they would not reach it.
    const changed = await overlayIn(ns, dir, ['up', '--no-relay']);
    t.is(changed.code, EXIT.failure, changed.stderr);
    assertOneLine(t, changed);
    t.regex(
      changed.stderr,
      /^overlay: overlay is already up; its settings change at the next start \(stop it first with: overlay down --state-dir \S+, then run overlay up --state-dir \S+ --no-relay\)/,
    );

    const down = await overlayIn(ns, dir, ['down', '--json']);
    t.is(down.code, 0, down.stderr);
    t.like(JSON.parse(down.stdout), {
      pid: readPidFile(dir) ?? (running.held ? running.pid : -1),
      how: 'down',
    });
    nothingLeft(t, ns, dir);
  },
);

rootTest(test, 'up without /dev/net/tun: ENOTUN, its own line and exit code', async (t) => {
  const { ns, dir } = await member(t, 'upnotun');
  const r = await overlayIn(ns, dir, ['up'], 'mount -t tmpfs tmpfs /dev/net');
  t.is(r.code, EXIT.noTun, r.stderr);
  assertOneLine(t, r);
  t.regex(r.stderr, /^overlay: this system has no \/dev\/net\/tun \(load the tun module/);
  nothingLeft(t, ns, dir);
});

rootTest(test, 'up when /dev/net/tun is not a TUN device: ETUN, its own line and exit code', async (t) => {
  const { ns, dir } = await member(t, 'upetun');
  const r = await overlayIn(ns, dir, ['up'], 'mount --bind /dev/null /dev/net/tun');
  t.is(r.code, EXIT.tun, r.stderr);
  assertOneLine(t, r);
  t.regex(
    r.stderr,
    /^overlay: cannot create the overlay interface: tun ovl%d: cannot create device: Inappropriate ioctl/,
  );
  nothingLeft(t, ns, dir);
});

rootTest(
  test,
  'up when another program holds the UDP port: its own line and exit code, and nothing left',
  async (t) => {
    const { ns, dir } = await member(t, 'upport');
    const holder = ns.spawn(
      process.execPath,
      [
        '-e',
        "const s = require('dgram').createSocket({ type: 'udp4' }); s.bind(51820, () => console.log('bound'));",
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve) => holder.stdout!.once('data', () => resolve()));
    const r = await overlayIn(ns, dir, ['up']);
    t.is(r.code, EXIT.portTaken, r.stderr);
    assertOneLine(t, r);
    t.regex(
      r.stderr,
      /^overlay: UDP port 51820 is taken by another program \(find it with: ss -ulpn 'sport = :51820'; or use another: overlay up --state-dir \S+ --listen 51821\)\n$/,
    );
    nothingLeft(t, ns, dir);

    // The hint works as printed, and the port is remembered for the next up.
    const hinted = /or use another: (overlay up .*)\)$/m.exec(r.stderr)![1]!.split(' ').slice(1);
    const other = await runCli(hinted, { prefix: ['ip', 'netns', 'exec', ns.name], timeoutMs: 30_000 });
    t.is(other.code, 0, other.stderr);
    t.regex(other.stdout, /UDP 51821/);
    t.is((await overlayIn(ns, dir, ['down'])).code, 0);
    t.is(JSON.parse(fs.readFileSync(path.join(dir, 'network.json'), 'utf8')).listenPort, 51821);
    holder.kill();
  },
);
