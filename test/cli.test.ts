import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { EXIT, exitCodeFor } from '../cli/exitCodes.js';
import { runCli } from './helpers/cli.js';
import { isRoot, rootTest } from './helpers/root.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-cli-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An error is exactly one line on stderr, prefixed so a user knows who is talking. */
function assertOneLineError(t: { is(a: unknown, b: unknown, m?: string): void }, stderr: string): void {
  t.is(stderr.split('\n').filter(Boolean).length, 1, stderr);
  t.is(stderr.startsWith('overlay: '), true, stderr);
}

test('overlay --help lists the commands and the exit codes', async (t) => {
  const r = await runCli(['--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /Usage: overlay <command>/);
  t.regex(r.stdout, /^ {2}whoami /m);
  t.regex(r.stdout, /Exit codes:/);
  t.regex(r.stdout, /^ {2}6 {2}this system has no TUN device/m);
  t.regex(r.stdout, /^ {2}9 {2}the node's UDP port is taken/m);
});

test('each way up fails to start has an exit code of its own', (t) => {
  const codes = ['EPERM', 'ENOTUN', 'ETUN', 'EBUSY', 'EPORT_TAKEN', 'ESTATE_DIR'].map(exitCodeFor);
  t.is(new Set(codes).size, codes.length, `${codes}`);
  t.false(codes.includes(EXIT.failure));
});

test('overlay whoami --help shows its usage', async (t) => {
  const r = await runCli(['whoami', '--help']);
  t.is(r.code, 0);
  t.regex(r.stdout, /^Usage: overlay whoami/);
  t.regex(r.stdout, /--state-dir DIR/);
});

test('overlay --version prints the package version', async (t) => {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  const r = await runCli(['--version']);
  t.is(r.code, 0);
  t.is(r.stdout.trim(), `overlay ${pkg.version}`);
});

test('whoami makes a key on first use and prints it the way wg does; the key file is 0600', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(['whoami', '--state-dir', dir]);
  t.is(r.code, 0, r.stderr);
  const key = /public key:\s+(\S+)/.exec(r.stdout)?.[1];
  t.regex(key ?? '', /^[A-Za-z0-9+/]{43}=$/);
  t.is(fs.statSync(path.join(dir, 'identity.json')).mode & 0o777, 0o600);
  const again = await runCli(['whoami', '--json', '--state-dir', dir]);
  t.is(again.code, 0);
  const json = JSON.parse(again.stdout);
  t.is(json.publicKey, key);
  t.is(json.name, null);
  t.is(json.stateDir, dir);
  // the secret never appears in output
  const stored = JSON.parse(fs.readFileSync(path.join(dir, 'identity.json'), 'utf8'));
  t.false(again.stdout.includes(stored.wireguard.privateKey));
  t.false(r.stdout.includes(stored.wireguard.privateKey));
});

test('OVERLAY_HOME chooses the state directory when --state-dir is absent', async (t) => {
  const dir = path.join(tempDir(t), 'home');
  const r = await runCli(['whoami', '--json'], { env: { OVERLAY_HOME: dir } });
  t.is(r.code, 0, r.stderr);
  t.is(JSON.parse(r.stdout).stateDir, dir);
  t.true(fs.existsSync(path.join(dir, 'identity.json')));
});

test('unknown commands and flags are one-line errors with exit code 2', async (t) => {
  for (const args of [
    ['frobnicate'],
    ['whoami', '--frob'],
    ['whoami', 'extra'],
    ['--frob'],
    ['whoami', '--state-dir'],
  ]) {
    const r = await runCli(args);
    t.is(r.code, 2, args.join(' '));
    assertOneLineError(t, r.stderr);
    t.is(r.stdout, '');
  }
});

test('a corrupt store: one line naming the file, exit 4, file untouched', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'identity.json');
  fs.writeFileSync(file, '{"version": 1, "name": nul', { mode: 0o600 });
  const r = await runCli(['whoami', '--state-dir', dir]);
  t.is(r.code, 4);
  assertOneLineError(t, r.stderr);
  t.true(r.stderr.includes(file));
  t.is(fs.readFileSync(file, 'utf8'), '{"version": 1, "name": nul');
  const verbose = await runCli(['whoami', '--state-dir', dir, '--verbose']);
  t.regex(verbose.stderr, /caused by:/);
});

test('a world-readable key file is refused with exit 4', async (t) => {
  const dir = tempDir(t);
  t.is((await runCli(['whoami', '--state-dir', dir])).code, 0);
  fs.chmodSync(path.join(dir, 'identity.json'), 0o644);
  const r = await runCli(['whoami', '--state-dir', dir]);
  t.is(r.code, 4);
  assertOneLineError(t, r.stderr);
  t.regex(r.stderr, /chmod 600/);
});

test('an unwritable state directory is a one-line error that leaves it empty', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'ro');
  fs.mkdirSync(state, { mode: 0o700 });
  // Root ignores file modes, so as root the directory is made read-only by a mount instead.
  if (!isRoot) fs.chmodSync(state, 0o500);
  const r = isRoot
    ? await runCli(['whoami', '--state-dir', state], {
        prefix: [
          'unshare',
          '--mount',
          '--',
          'sh',
          '-c',
          `mount -t tmpfs -o ro,mode=700 tmpfs "${state}" && exec "$@"`,
          'sh',
        ],
      })
    : await runCli(['whoami', '--state-dir', state]);
  t.is(r.code, 4, r.stderr);
  assertOneLineError(t, r.stderr);
  t.regex(r.stderr, /cannot write/);
  t.deepEqual(fs.readdirSync(state), []);
});

test('two first uses racing on one directory end with one identity', async (t) => {
  const dir = path.join(tempDir(t), 'race');
  const results = await Promise.all(
    Array.from({ length: 4 }, () => runCli(['whoami', '--json', '--state-dir', dir])),
  );
  for (const r of results) t.is(r.code, 0, r.stderr);
  const keys = new Set(results.map((r) => JSON.parse(r.stdout).publicKey));
  t.is(keys.size, 1);
  t.deepEqual(fs.readdirSync(dir), ['identity.json']);
});

test('bash completion completes commands and their flags', async (t) => {
  const r = await runCli(['completion', 'bash']);
  t.is(r.code, 0);
  const complete = (words: string[]) =>
    execFileSync(
      'bash',
      [
        '-c',
        `eval "$SCRIPT"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _overlay; echo "\${COMPREPLY[@]}"`,
      ],
      { env: { ...process.env, SCRIPT: r.stdout }, encoding: 'utf8' },
    ).trim();
  t.is(complete(['overlay', 'in']), 'init invite');
  t.is(complete(['overlay', 'invite', '--ex']), '--expires');
  t.is(complete(['overlay', 'join', '--li']), '--listen');
});

test('zsh completion is a compdef script, and other shells are a usage error', async (t) => {
  const z = await runCli(['completion', 'zsh']);
  t.regex(z.stdout, /^#compdef overlay/);
  t.regex(z.stdout, /'status:/);
  const bad = await runCli(['completion', 'fish']);
  t.is(bad.code, 2);
});

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'commands that need the node say it is not running, with exit code 5',
  async (t) => {
    const dir = path.join(tempDir(t), 'a');
    t.is((await runCli(['init', '--name', 'a', '--state-dir', dir])).code, 0);
    for (const args of [['status'], ['peers'], ['kick', 'x'], ['invite']]) {
      const r = await runCli([...args, '--state-dir', dir]);
      t.is(r.code, 5, `${args.join(' ')}: ${r.stderr}`);
      assertOneLineError(t, r.stderr);
      t.regex(r.stderr, /not running/);
    }
  },
  { alone: false },
);

test('up --stun refuses what is not HOST:PORT with one line, before anything starts', async (t) => {
  const dir = tempDir(t);
  for (const bad of ['stun.example.net', '999.1.1.1:3478', 'host name:3478', 'stun.example.net:0', ':3478']) {
    const r = await runCli(['up', '--stun', bad, '--state-dir', dir]);
    t.is(r.code, 2, `${bad}: ${r.stderr}`);
    assertOneLineError(t, r.stderr);
    t.regex(r.stderr, /is not HOST:PORT/);
  }
});

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'a network.json whose remembered up flags are junk is refused with one line, and left as it was',
  async (t) => {
    const dir = tempDir(t);
    t.is((await runCli(['init', '--name', 'a', '--state-dir', dir])).code, 0);
    const file = path.join(dir, 'network.json');
    for (const [field, value, said] of [
      ['relay', 'yes', /relay is not true or false/],
      ['stun', ['stun.example.net'], /stun is not a list of HOST:PORT/],
    ] as const) {
      const good = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
      const bad = JSON.stringify({ ...good, [field]: value });
      fs.writeFileSync(file, bad, { mode: 0o600 });
      const r = await runCli(['up', '--state-dir', dir]);
      t.is(r.code, 4, r.stderr);
      assertOneLineError(t, r.stderr);
      t.regex(r.stderr, said);
      t.true(r.stderr.includes(file));
      t.is(fs.readFileSync(file, 'utf8'), bad);
      delete good[field];
      fs.writeFileSync(file, JSON.stringify(good), { mode: 0o600 });
    }
  },
  { alone: false },
);
