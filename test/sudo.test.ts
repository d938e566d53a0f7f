/**
 * sudo and the state directory (issue 15, point 2), as a user and as root on one machine: the
 * machine's node is root's and keeps its state in /var/lib/overlay; a user who runs a command that
 * changes it is told at once, with the sudo command to paste; a user reads its status through its
 * read-only socket in /run/overlay, which serves nothing that changes the node or tells a secret.
 *
 * Each test is its own machine: a network namespace, and a private mount namespace with fresh
 * tmpfs over /var/lib and /run, so the real paths are tested and this machine's own are untouched.
 * "nobody" (uid 65534) plays the user.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { EXIT } from '../cli/exitCodes.js';
import { readOnlySocketPath } from '../core/control/readOnlySocket.js';
import { CONTROL_METHODS, READ_ONLY_METHODS } from '../core/node/controlApi.js';
import { type CliResult, cliPath, runCli, runProcess } from './helpers/cli.js';
import { Netns } from './helpers/netns.js';
import { rootTest } from './helpers/root.js';

const NOBODY = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
const SYSTEM_DIR = '/var/lib/overlay';

interface MachineRunOptions {
  asNobody?: boolean;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** One machine: its network, its own /var/lib and /run; root and nobody run commands on it. */
class Machine {
  /** root's home for its pre-/var/lib/overlay default (XDG_CONFIG_HOME/overlay). */
  readonly configHome: string;

  private constructor(
    readonly ns: Netns,
    private readonly holder: ChildProcess,
    configHome: string,
  ) {
    this.configHome = configHome;
  }

  static async start(t: ExecutionContext, tag: string): Promise<Machine> {
    const ns = new Netns(tag);
    t.teardown(() => ns.destroy());
    const configHome = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-sudo-home-'));
    t.teardown(() => fs.rmSync(configHome, { recursive: true, force: true }));
    // Holds the mount namespace for the test's life; commands join it with nsenter.
    const holder = ns.spawn('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs -o mode=755 tmpfs /var/lib && mount -t tmpfs -o mode=755 tmpfs /run && echo ready && exec sleep 600',
    ]);
    t.teardown(() => holder.kill('SIGKILL'));
    await new Promise<void>((resolve, reject) => {
      holder.stdout!.once('data', () => resolve());
      holder.once('exit', (code) => reject(new Error(`mount namespace holder exited (${code})`)));
    });
    return new Machine(ns, holder, configHome);
  }

  private prefix(asNobody: boolean | undefined): string[] {
    return ['nsenter', `--target=${this.holder.pid}`, '--mount', '--net', ...(asNobody ? NOBODY : [])];
  }

  /** The real paths, not the test suite's OVERLAY_RUN_DIR; root's home is the test's, nobody's its own. */
  private env(asNobody: boolean | undefined, extra: NodeJS.ProcessEnv | undefined): NodeJS.ProcessEnv {
    const home = asNobody
      ? { HOME: '/nonexistent', XDG_CONFIG_HOME: undefined }
      : { XDG_CONFIG_HOME: this.configHome };
    return { OVERLAY_RUN_DIR: undefined, ...home, ...extra };
  }

  overlay(args: string[], options: MachineRunOptions = {}): Promise<CliResult> {
    return runCli(args, {
      prefix: this.prefix(options.asNobody),
      env: this.env(options.asNobody, options.env),
      timeoutMs: options.timeoutMs ?? 30_000,
    });
  }

  /** A command pasted as printed after "run: sudo ": split on spaces (the tests' words need no quotes). */
  pasteAsRoot(command: string, env?: NodeJS.ProcessEnv): Promise<CliResult> {
    const words = command.split(' ');
    if (words[0] !== 'overlay') throw new Error(`not an overlay command: ${command}`);
    return this.overlay(words.slice(1), env ? { env } : {});
  }

  /** `node -e SCRIPT ARGS` on this machine. */
  node(script: string, args: string[], options: MachineRunOptions = {}): Promise<CliResult> {
    return runProcess([process.execPath, '-e', script, ...args], {
      prefix: this.prefix(options.asNobody),
      env: this.env(options.asNobody, options.env),
      timeoutMs: options.timeoutMs ?? 20_000,
    });
  }

  /** Whether a path exists on this machine (as root). */
  async exists(file: string): Promise<boolean> {
    const r = await this.node('process.exit(require("fs").existsSync(process.argv[1]) ? 0 : 1)', [file]);
    return r.code === 0;
  }
}

/** The one line of a refusal, and the command it says to paste after "run: sudo ". */
function refusal(t: ExecutionContext, r: CliResult, message: string): string {
  t.is(r.code, EXIT.permission, r.stderr);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, r.stderr);
  const m = /^overlay: (.*) \(run: sudo (overlay .*)\)$/.exec(lines[0] ?? '');
  t.truthy(m, r.stderr);
  t.is(m?.[1], message);
  return m?.[2] ?? '';
}

async function rootNodeUp(t: ExecutionContext, m: Machine): Promise<void> {
  const init = await m.overlay(['init', '--name', 'a']);
  t.is(init.code, 0, init.stderr);
  const up = await m.overlay(['up']);
  t.is(up.code, 0, up.stderr);
}

rootTest(
  test,
  "a user's init on the default state directory needs root, and the sudo command it prints works as root",
  async (t) => {
    const m = await Machine.start(t, 'sudoinit');
    const r = await m.overlay(['init', '--name', 'a', '--listen', '51999'], { asNobody: true });
    const pasted = refusal(t, r, `init needs root: the machine's node keeps its state in ${SYSTEM_DIR}`);
    t.is(pasted, 'overlay init --name a --listen 51999');
    t.false(await m.exists(SYSTEM_DIR), 'the refused init made nothing');

    // As sudo runs it: SUDO_UID says a user will paste the next steps into their own shell.
    const asRoot = await m.pasteAsRoot(pasted, { SUDO_UID: '65534' });
    t.is(asRoot.code, 0, asRoot.stderr);
    t.regex(asRoot.stdout, /^ {2}sudo overlay up {8}bring this node up$/m);
    t.regex(asRoot.stdout, /^ {2}sudo overlay invite {9}make a code/m);
    const whoami = await m.overlay(['whoami', '--json']);
    t.like(JSON.parse(whoami.stdout), { name: 'a', stateDir: SYSTEM_DIR });
    const up = await m.overlay(['up']);
    t.is(up.code, 0, up.stderr);
    t.regex(up.stdout, /^overlay is up: a is /);
  },
);

rootTest(
  test,
  "root's node on the default state directory answers a user's status, peers, ping and whoami on its read-only socket",
  async (t) => {
    const m = await Machine.start(t, 'sudoread');
    await rootNodeUp(t, m);
    const status = await m.overlay(['status', '--json'], { asNobody: true });
    t.is(status.code, 0, status.stderr);
    t.like(JSON.parse(status.stdout), { self: { name: 'a', interface: 'ovl0' }, peers: [] });
    const watch = await m.node(
      // status --json --watch for its first line, then close.
      `const c = require('child_process').spawn(process.execPath, [process.argv[1], 'status', '--json', '--watch']);
       c.stdout.once('data', (d) => { process.stdout.write(d.toString().split('\\n')[0]); c.kill(); });`,
      [cliPath],
      { asNobody: true },
    );
    t.like(JSON.parse(watch.stdout), { self: { name: 'a' } });
    const peers = await m.overlay(['peers', '--json'], { asNobody: true });
    t.is(peers.code, 0, peers.stderr);
    t.deepEqual(JSON.parse(peers.stdout), []);
    // The node itself answers the ping: it looked the name up in its roster.
    const ping = await m.overlay(['ping', 'a', '-c', '1'], { asNobody: true });
    t.is(ping.code, EXIT.usage, ping.stderr);
    t.is(ping.stderr, 'overlay: that is this node\n');
    const whoami = await m.overlay(['whoami', '--json'], { asNobody: true });
    t.is(whoami.code, 0, whoami.stderr);
    const rootsWhoami = JSON.parse((await m.overlay(['whoami', '--json'])).stdout);
    t.deepEqual(JSON.parse(whoami.stdout), rootsWhoami);
    t.is(rootsWhoami.addresses.length, 2);

    const down = await m.overlay(['down']);
    t.is(down.code, 0, down.stderr);
    t.false(await m.exists(readOnlySocketPath(SYSTEM_DIR, {})), 'down removes the read-only socket');
    const stopped = await m.overlay(['whoami'], { asNobody: true });
    refusal(t, stopped, `whoami needs root to read the node's identity in ${SYSTEM_DIR}`);
    const notRunning = await m.overlay(['status'], { asNobody: true });
    t.is(notRunning.code, EXIT.notRunning, notRunning.stderr);
    t.regex(notRunning.stderr, /^overlay: overlay is not running .*\(start it with: sudo overlay up\)\n$/);
  },
);

rootTest(
  test,
  "a user's down, invite and kick of root's node need root: exit 3 with the sudo command, and the node runs on",
  async (t) => {
    const m = await Machine.start(t, 'sudowrite');
    await rootNodeUp(t, m);
    const shape = (cmd: string) => `${cmd} needs root: the machine's node keeps its state in ${SYSTEM_DIR}`;
    t.is(refusal(t, await m.overlay(['down'], { asNobody: true }), shape('down')), 'overlay down');
    t.is(
      refusal(t, await m.overlay(['invite', '--expires', '1h'], { asNobody: true }), shape('invite')),
      'overlay invite --expires 1h',
    );
    t.is(refusal(t, await m.overlay(['kick', 'b'], { asNobody: true }), shape('kick')), 'overlay kick b');
    t.is(refusal(t, await m.overlay(['up'], { asNobody: true }), shape('up')), 'overlay up');
    const status = await m.overlay(['status', '--json']);
    t.is(status.code, 0, status.stderr);
    const invites = await m.overlay(['invite', 'list', '--json']);
    t.deepEqual(JSON.parse(invites.stdout), [], 'no invite was made');
  },
);

/** Sends one request line per method on the socket and prints every answer line. */
const RAW_CLIENT = `
const net = require('net');
const [file, ...methods] = process.argv.slice(1);
const s = net.createConnection(file);
let got = '';
s.on('data', (d) => {
  got += d;
  if (got.split('\\n').filter(Boolean).length >= methods.length) { process.stdout.write(got); s.destroy(); }
});
s.on('error', (e) => { console.error(e.code); process.exit(1); });
s.on('connect', () => {
  methods.forEach((method, i) =>
    s.write(JSON.stringify({ id: i + 1, method, params: { name: 'a', id: 'x', expiresInMs: 60000 } }) + '\\n'));
});`;

/**
 * Opens `count` connections at once, each asking for `streams` watch streams, and after `holdMs`
 * prints how many connections the node served, how many it turned away, and how many streams it
 * refused.
 */
const CROWD_CLIENT = `
const net = require('net');
const [file, count, streams, holdMs] = process.argv.slice(1).map((x, i) => (i === 0 ? x : Number(x)));
const result = { served: 0, turnedAway: 0, streamsRefused: 0 };
const sockets = [];
for (let c = 0; c < count; c++) {
  const s = net.createConnection(file);
  sockets.push(s);
  let got = '';
  let served = false;
  s.on('data', (d) => {
    got += d;
    const lines = got.split('\\n');
    got = lines.pop();
    for (const line of lines) {
      const m = JSON.parse(line);
      if (m.id !== null && m.error && m.error.code === 'EBUSY') result.streamsRefused++;
      else if (m.event && !served) { served = true; result.served++; }
    }
  });
  // Refused (an EBUSY line, then closed; a write after may fail with EPIPE): never served, closed.
  s.on('error', () => {});
  s.on('close', () => { if (!served) result.turnedAway++; });
  s.on('connect', () => {
    for (let i = 1; i <= streams; i++) s.write(JSON.stringify({ id: i, method: 'watch' }) + '\\n');
  });
}
setTimeout(() => { process.stdout.write(JSON.stringify(result)); for (const s of sockets) s.destroy(); }, holdMs);`;

rootTest(
  test,
  "a user's crowd on the read-only socket gets 16 connections of 2 streams; root's socket still answers",
  async (t) => {
    const m = await Machine.start(t, 'sudocrowd');
    await rootNodeUp(t, m);
    const socket = readOnlySocketPath(SYSTEM_DIR, {});
    // Root's status, while a user holds 24 connections that each ask for 3 watch streams.
    const crowd = m.node(CROWD_CLIENT, [socket, '24', '3', '4000'], { asNobody: true });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const status = await m.overlay(['status', '--json'], { timeoutMs: 10_000 });
    t.is(status.code, 0, status.stderr);
    const r = await crowd;
    t.is(r.code, 0, r.stderr);
    const seen = JSON.parse(r.stdout) as {
      served: number;
      busy: number;
      streamsRefused: number;
      other: number;
    };
    t.deepEqual(seen, { served: 16, turnedAway: 8, streamsRefused: 16 }, r.stdout);
  },
);

rootTest(
  test,
  'the read-only socket refuses every method that changes the node, even written by hand, and tells no secret',
  async (t) => {
    const m = await Machine.start(t, 'sudoraw');
    await rootNodeUp(t, m);
    const socket = readOnlySocketPath(SYSTEM_DIR, {});
    const writes = CONTROL_METHODS.filter((x) => !(READ_ONLY_METHODS as readonly string[]).includes(x));
    t.true(writes.includes('down') && writes.includes('invite.create') && writes.includes('kick'));
    const r = await m.node(RAW_CLIENT, [socket, ...writes, 'whoami'], { asNobody: true });
    t.is(r.code, 0, r.stderr);
    const answers = r.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
    t.is(answers.length, writes.length + 1);
    for (const [i, method] of writes.entries()) {
      const a = answers.find((x) => x.id === i + 1);
      t.like(a, { error: { code: 'EPERM' } }, method);
      t.regex(a.error.message, new RegExp(`^${method.replace('.', '\\.')} needs root`));
    }
    const whoami = answers.find((x) => x.id === writes.length + 1).result;
    t.deepEqual(Object.keys(whoami).sort(), ['addresses', 'name', 'network', 'publicKey', 'signingKey']);

    // The node runs on, unchanged: no invite made, nobody kicked.
    const status = await m.overlay(['status', '--json']);
    t.is(status.code, 0, status.stderr);
    t.deepEqual(JSON.parse((await m.overlay(['invite', 'list', '--json'])).stdout), []);
    // The private socket stays closed to the user.
    const priv = await m.node(RAW_CLIENT, [`${SYSTEM_DIR}/control.sock`, 'down'], { asNobody: true });
    t.is(priv.code, 1);
    t.is(priv.stderr.trim(), 'EACCES');
  },
);

rootTest(
  test,
  "a user's init on a directory of their own needs root; pasted as root it makes root's directory, whose node the user then reads",
  async (t) => {
    const m = await Machine.start(t, 'sudodir');
    const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-sudo-own-'));
    t.teardown(() => fs.rmSync(parent, { recursive: true, force: true }));
    fs.chownSync(parent, 65534, 65534);
    const dir = path.join(parent, 'dev');
    const r = await m.overlay(['init', '--state-dir', dir, '--name', 'a'], { asNobody: true });
    const pasted = refusal(
      t,
      r,
      'init needs root: the node runs as root, and root keeps its state only in a directory root owns',
    );
    t.is(pasted, `overlay init --state-dir ${dir} --name a`);
    t.false(fs.existsSync(dir), 'the refused init made nothing');

    const init = await m.pasteAsRoot(pasted);
    t.is(init.code, 0, init.stderr);
    const next = /^ {2}sudo (overlay up --state-dir \S+) {8}bring this node up$/m.exec(init.stdout);
    const upCommand = next?.[1] ?? '';
    t.is(upCommand, `overlay up --state-dir ${dir}`, init.stdout);
    // Without sudo, up says why in the same words, with the same command.
    const userUp = await m.overlay(['up', '--state-dir', dir], { asNobody: true });
    t.is(refusal(t, userUp, `up needs root: only root may change ${dir}`), upCommand);
    const up = await m.pasteAsRoot(upCommand);
    t.is(up.code, 0, up.stderr);
    const status = await m.overlay(['status', '--json', '--state-dir', dir], { asNobody: true });
    t.is(status.code, 0, status.stderr);
    t.like(JSON.parse(status.stdout), { self: { name: 'a' } });
    // Another node's directory has another socket: the default one has no node.
    const other = await m.overlay(['status', '--json'], { asNobody: true });
    t.is(other.code, EXIT.notRunning, other.stderr);
  },
);

rootTest(
  test,
  'root refuses a state directory the sudo user owns, and writes nothing through a link they planted in it',
  async (t) => {
    const m = await Machine.start(t, 'sudoplant');
    // The user's own directory, with a network made by root elsewhere and handed over to them.
    const base = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-sudo-plant-'));
    t.teardown(() => fs.rmSync(base, { recursive: true, force: true }));
    const dir = path.join(base, 'dev');
    const made = await m.overlay(['init', '--name', 'a', '--state-dir', dir]);
    t.is(made.code, 0, made.stderr);
    const victim = path.join(base, 'victim');
    fs.writeFileSync(victim, 'root-owned\n', { mode: 0o644 });
    for (const f of [base, dir, ...fs.readdirSync(dir).map((f) => path.join(dir, f))]) {
      fs.chownSync(f, 65534, 65534);
    }
    fs.chownSync(victim, 0, 0);
    // The attack: the log root's node appends to is a link to a file of root's choosing... of theirs.
    fs.symlinkSync(victim, path.join(dir, 'overlay.log'));
    fs.lchownSync(path.join(dir, 'overlay.log'), 65534, 65534);

    const up = await m.overlay(['up', '--state-dir', dir], {
      env: { SUDO_UID: '65534', SUDO_USER: 'nobody' },
    });
    t.is(up.code, EXIT.state, up.stderr);
    t.regex(up.stderr, /^overlay: state directory \S+ belongs to uid 65534, not to you \(uid 0\)/);
    t.is(fs.readFileSync(victim, 'utf8'), 'root-owned\n');
  },
);

rootTest(
  test,
  "root's node made before /var/lib/overlay keeps its directory, and a user reaches it as the default node",
  async (t) => {
    const m = await Machine.start(t, 'sudolegacy');
    const legacy = path.join(m.configHome, 'overlay');
    const init = await m.overlay(['init', '--name', 'old', '--state-dir', legacy]);
    t.is(init.code, 0, init.stderr);
    const up = await m.overlay(['up']);
    t.is(up.code, 0, up.stderr);
    t.regex(up.stdout, /^overlay is up: old is /);
    const whoami = await m.overlay(['whoami', '--json']);
    t.like(JSON.parse(whoami.stdout), { name: 'old', stateDir: legacy });
    t.false(await m.exists(SYSTEM_DIR));
    const status = await m.overlay(['status', '--json'], { asNobody: true });
    t.is(status.code, 0, status.stderr);
    t.like(JSON.parse(status.stdout), { self: { name: 'old' } });
  },
);
