/**
 * The first minutes with the CLI, without root (issue 15): a closed pipe, errors a script can read,
 * typos, a directory with no network, hints that paste as printed, corrupt files' advice, and
 * completion. The ones that need a real node are in upStart.test.ts.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { jsonLine } from '../cli/jsonOutput.js';
import { pasteable } from '../cli/pasteable.js';
import { cliPath, runCli } from './helpers/cli.js';
import { startFakeNode, tempStateDir } from './helpers/fakeNode.js';
import { rootTest } from './helpers/root.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-first-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function initialised(t: { teardown(fn: () => void): void }): Promise<string> {
  const dir = path.join(tempDir(t), 'a');
  const r = await runCli(['init', '--name', 'a', '--state-dir', dir]);
  if (r.code !== 0) throw new Error(r.stderr);
  return dir;
}

test('a reader that goes away ends a watching command quietly: exit 0, no stack trace', async (t) => {
  const dir = tempStateDir(t);
  await startFakeNode(t, dir);
  // head takes one line and exits; the watch writes again 200 ms later into the closed pipe.
  const r = spawnSync(
    'bash',
    [
      '-c',
      `"${process.execPath}" "${cliPath}" status --json --watch --state-dir "${dir}" | head -1; echo "rc=\${PIPESTATUS[0]}" >&2`,
    ],
    { encoding: 'utf8', timeout: 15_000 },
  );
  t.is(r.status, 0);
  t.regex(r.stdout, /^\{"uptimeMs":\d+\}\n$/);
  t.notRegex(r.stderr, /EPIPE|Error|at /, r.stderr);
  t.regex(r.stderr, /rc=0/);
});

test('with --json an error is one JSON line on stderr with its code and exit code; stdout stays empty', async (t) => {
  const dir = tempDir(t);
  const r = await runCli(['status', '--json', '--state-dir', dir]);
  t.is(r.code, 2);
  t.is(r.stdout, '');
  const lines = r.stderr.split('\n').filter(Boolean);
  t.is(lines.length, 1, r.stderr);
  const { error } = JSON.parse(lines[0]!);
  t.is(error.code, 'EUSAGE');
  t.is(error.exitCode, 2);
  t.regex(error.message, /not in a network yet/);
  t.regex(
    error.hint,
    /(sudo )?overlay init --state-dir .*, or join one with (sudo )?overlay join --state-dir .* CODE/,
  );
  const usage = await runCli(['ping', '--json']);
  t.is(JSON.parse(usage.stderr).error.code, 'EUSAGE');
});

test('JSON numbers are rounded to the microsecond and integers kept', (t) => {
  t.is(
    jsonLine({ rttMs: 2.7157159999987925, rx: 123456789, n: [0.1 + 0.2] }),
    '{"rttMs":2.716,"rx":123456789,"n":[0.3]}\n',
  );
});

test('typos get "did you mean", commands and flags alike', async (t) => {
  const cmd = await runCli(['stauts']);
  t.is(cmd.code, 2);
  t.is(cmd.stderr, 'overlay: unknown command "stauts" (did you mean overlay status?)\n');
  const flag = await runCli(['up', '--forground']);
  t.is(flag.code, 2);
  t.regex(flag.stderr, /unknown flag '--forground' \(did you mean --foreground\?/);
  // Nothing near: the list, not a wild guess.
  const far = await runCli(['frobnicate']);
  t.regex(far.stderr, /commands: init, up, /);
});

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'a directory with no network says so; one with a network that is down says not running',
  async (t) => {
    const empty = tempDir(t);
    for (const args of [['status'], ['peers'], ['ping', 'b'], ['invite'], ['kick', 'b'], ['down']]) {
      const r = await runCli([...args, '--state-dir', empty]);
      t.is(r.code, 2, `${args}: ${r.stderr}`);
      t.regex(r.stderr, /^overlay: this node is not in a network yet/, `${args}`);
    }
    const dir = await initialised(t);
    const r = await runCli(['status', '--state-dir', dir]);
    t.is(r.code, 5, r.stderr);
    // The hint names this directory, so pasting it starts this node and not another.
    const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
    t.true(r.stderr.includes(`(start it with: ${sudo}overlay up --state-dir ${dir})`), r.stderr);
  },
  { alone: false },
);

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'down on a node that is down succeeds with a note',
  async (t) => {
    const dir = await initialised(t);
    const r = await runCli(['down', '--state-dir', dir]);
    t.is(r.code, 0, r.stderr);
    t.is(r.stdout, 'overlay is already down; nothing to stop\n');
    const json = await runCli(['down', '--json', '--state-dir', dir]);
    t.deepEqual(JSON.parse(json.stdout), { pid: null, how: 'already down' });
  },
  { alone: false },
);

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'init and join print Next: lines that paste as printed, --state-dir included',
  async (t) => {
    const dir = path.join(tempDir(t), 'my state');
    const r = await runCli(['init', '--name', 'a', '--state-dir', dir]);
    t.is(r.code, 0, r.stderr);
    t.true(r.stdout.includes(`  sudo overlay up --state-dir '${dir}'`), r.stdout);
    t.true(r.stdout.includes(`  overlay invite --state-dir '${dir}'`), r.stdout);
    // What was printed runs (without sudo, which only matters for up): the quoting survives a shell.
    const printed = /overlay invite --state-dir '[^']+'/.exec(r.stdout)![0];
    const ran = spawnSync('bash', ['-c', printed.replace(/^overlay/, `"${process.execPath}" "${cliPath}"`)], {
      encoding: 'utf8',
    });
    t.regex(
      ran.stderr,
      /overlay is not running/,
      'the pasted command found this node (its state), not another',
    );
  },
  { alone: false },
);

test('pasteable adds sudo only where root is needed and keeps a given sudo', (t) => {
  const user = { stateDir: '/tmp/x y', root: false };
  t.is(pasteable('start it with: overlay up', user), "start it with: sudo overlay up --state-dir '/tmp/x y'");
  t.is(pasteable('sudo overlay up', user), "sudo overlay up --state-dir '/tmp/x y'");
  t.is(pasteable('see overlay peers', { stateDir: undefined, root: false }), 'see overlay peers');
  t.is(pasteable('overlay down', { stateDir: undefined, root: true }), 'overlay down');
  t.is(pasteable('overlay completion bash', user), 'overlay completion bash');
});

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'whoami shows the overlay address once the node is in a network',
  async (t) => {
    const dir = path.join(tempDir(t), 'a');
    const init = await runCli(['init', '--name', 'a', '--json', '--state-dir', dir]);
    const { ipv4, ipv6 } = JSON.parse(init.stdout);
    const r = await runCli(['whoami', '--state-dir', dir]);
    t.is(r.code, 0, r.stderr);
    t.true(r.stdout.includes(`address:     ${ipv4}  ${ipv6}\n`), r.stdout);
    const json = JSON.parse((await runCli(['whoami', '--json', '--state-dir', dir])).stdout);
    t.deepEqual(json.addresses, [ipv4, ipv6]);
    const fresh = await runCli(['whoami', '--state-dir', path.join(tempDir(t), 'b')]);
    t.regex(fresh.stdout, /address: {5}\(not in a network yet: overlay init, or overlay join CODE\)/);
  },
  { alone: false },
);

test('status --help says it is a live view on a terminal, and --once prints one table', async (t) => {
  const r = await runCli(['status', '--help']);
  t.regex(r.stdout, /on a terminal: a live view/);
  t.regex(r.stdout, /--once/);
});

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'a corrupt file gets advice that fits it, and the parser message is not cut mid-quote',
  async (t) => {
    const dir = await initialised(t);
    const junk = `abc${JSON.stringify({ version: 1, padding: 'x'.repeat(80) })}`;
    fs.writeFileSync(path.join(dir, 'roster.json'), junk, { mode: 0o600 });
    const roster = await runCli(['up', '--state-dir', dir]);
    t.is(roster.code, 4, roster.stderr);
    t.is(roster.stderr.split('\n').filter(Boolean).length, 1);
    t.regex(
      roster.stderr,
      /roster\.json is corrupt: Unexpected token 'a': not valid JSON \(restore it from a backup;/,
    );
    t.notRegex(roster.stderr, /new identity|new keys/, 'moving the roster away does not change the keys');
    fs.writeFileSync(path.join(dir, 'identity.json'), junk, { mode: 0o600 });
    const identity = await runCli(['whoami', '--state-dir', dir]);
    t.is(identity.code, 4);
    t.regex(
      identity.stderr,
      /identity\.json is corrupt: .* this node then gets new keys and must join its network again/,
    );
  },
  { alone: false },
);

test('completion offers invite and completion words, and members by name', async (t) => {
  const script = (await runCli(['completion', 'bash'])).stdout;
  // A stand-in `overlay` on PATH answers `peers --names` as a running node would.
  const bin = tempDir(t);
  fs.writeFileSync(
    path.join(bin, 'overlay'),
    '#!/bin/sh\n[ "$1 $2" = "peers --names" ] && [ "$3 $4" = "--state-dir /s" ] && printf "alice\\nbob\\n"\n',
    { mode: 0o755 },
  );
  const complete = (words: string[]) =>
    execFileSync(
      'bash',
      [
        '-c',
        `eval "$SCRIPT"; COMP_WORDS=(${words.join(' ')}); COMP_CWORD=${words.length - 1}; _overlay; echo "\${COMPREPLY[@]}"`,
      ],
      { env: { ...process.env, SCRIPT: script, PATH: `${bin}:${process.env['PATH']}` }, encoding: 'utf8' },
    ).trim();
  t.is(complete(['overlay', 'invite', 'l']), 'list');
  t.is(complete(['overlay', 'invite', "''"]), 'list revoke');
  t.is(complete(['overlay', 'completion', 'z']), 'zsh');
  t.is(complete(['overlay', 'kick', '--state-dir', '/s', 'a']), 'alice');
  t.is(complete(['overlay', 'ping', '--state-dir', '/s', "''"]), 'alice bob');
  t.is(complete(['overlay', 'ping', '--c']), '--count');
});
