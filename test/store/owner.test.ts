/**
 * The state directory and every file overlay keeps in it belong to the user running overlay, and
 * are never reached through a symbolic link: a directory (or store file) someone else owns could be
 * read or swapped by them, and a link sends our secrets wherever it points.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { logFilePath, openLogForAppend } from '../../core/daemon/logFile.js';
import { SecureStore } from '../../core/store/secureStore.js';
import { runCli } from '../helpers/cli.js';
import { isRoot, rootTest } from '../helpers/root.js';

const NOBODY = 65534;

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-owner-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function assertOneLineError(t: ExecutionContext, stderr: string): void {
  t.is(stderr.split('\n').filter(Boolean).length, 1, stderr);
  t.true(stderr.startsWith('overlay: '), stderr);
}

const anything = (data: unknown) => data as Record<string, unknown>;

rootTest(
  test,
  'a 0700 state directory owned by another user is refused and nothing is written into it',
  async (t) => {
    const state = path.join(tempDir(t), 'theirs');
    fs.mkdirSync(state, { mode: 0o700 });
    fs.chownSync(state, NOBODY, NOBODY);
    for (const args of [['whoami'], ['init', '--name', 'a']]) {
      const r = await runCli([...args, '--state-dir', state]);
      t.is(r.code, 4, r.stderr);
      assertOneLineError(t, r.stderr);
      t.true(r.stderr.includes(state), r.stderr);
      t.regex(r.stderr, new RegExp(`belongs to uid ${NOBODY}`));
      t.regex(r.stderr, /chown/);
    }
    t.deepEqual(fs.readdirSync(state), []);
  },
);

rootTest(test, 'a store file owned by another user is refused, even 0600', async (t) => {
  const state = tempDir(t);
  t.is((await runCli(['whoami', '--state-dir', state])).code, 0);
  const file = path.join(state, 'identity.json');
  const before = fs.readFileSync(file, 'utf8');
  fs.chownSync(file, NOBODY, NOBODY);
  const r = await runCli(['whoami', '--state-dir', state]);
  t.is(r.code, 4, r.stderr);
  assertOneLineError(t, r.stderr);
  t.true(r.stderr.includes(file), r.stderr);
  t.regex(r.stderr, /chown/);
  t.is(fs.readFileSync(file, 'utf8'), before);
  t.is(fs.statSync(file).uid, NOBODY);
});

test('a state directory that is a symbolic link is refused and nothing is written through it', async (t) => {
  const dir = tempDir(t);
  const real = path.join(dir, 'real');
  fs.mkdirSync(real, { mode: 0o700 });
  const link = path.join(dir, 'link');
  fs.symlinkSync(real, link);
  // init needs root (cli/needsRoot.ts); as a user, whoami alone shows the directory check.
  const commands = isRoot ? [['whoami'], ['init', '--name', 'a']] : [['whoami']];
  for (const args of commands) {
    const r = await runCli([...args, '--state-dir', link]);
    t.is(r.code, 4, r.stderr);
    assertOneLineError(t, r.stderr);
    t.true(r.stderr.includes(link), r.stderr);
    t.regex(r.stderr, /symbolic link/);
    t.true(r.stderr.includes(real), 'the fix names the real directory');
  }
  t.deepEqual(fs.readdirSync(real), []);
});

test('a store file that is a symbolic link is refused and its target left alone', async (t) => {
  const dir = tempDir(t);
  const state = path.join(dir, 'state');
  t.is((await runCli(['whoami', '--state-dir', state])).code, 0);
  const file = path.join(state, 'identity.json');
  const target = path.join(dir, 'elsewhere.json');
  fs.renameSync(file, target);
  fs.symlinkSync(target, file);
  const before = fs.readFileSync(target, 'utf8');
  const r = await runCli(['whoami', '--state-dir', state]);
  t.is(r.code, 4, r.stderr);
  assertOneLineError(t, r.stderr);
  t.true(r.stderr.includes(file), r.stderr);
  t.regex(r.stderr, /symbolic link/);
  t.is(fs.readFileSync(target, 'utf8'), before);
});

test('every store (network, roster, invites, identity) refuses a symbolic link in its place', (t) => {
  const state = tempDir(t);
  const target = path.join(tempDir(t), 'target.json');
  fs.writeFileSync(target, '{}\n', { mode: 0o600 });
  for (const name of ['network', 'roster', 'invites', 'identity']) {
    const file = SecureStore.fileFor(state, name);
    fs.symlinkSync(target, file);
    const e = t.throws(() => SecureStore.open(state, name, anything));
    t.regex(e.message, /symbolic link/);
    t.is(
      SecureStore.createExclusive(state, name, { x: 1 }, anything),
      undefined,
      'an existing link is not replaced',
    );
    fs.unlinkSync(file);
  }
  t.is(fs.readFileSync(target, 'utf8'), '{}\n');
});

rootTest(test, 'a store opened in a directory owned by another user is refused before it is read', (t) => {
  const state = tempDir(t);
  fs.writeFileSync(SecureStore.fileFor(state, 'roster'), '{}\n', { mode: 0o600 });
  fs.chownSync(state, NOBODY, NOBODY);
  const e = t.throws(() => SecureStore.open(state, 'roster', anything));
  t.regex(e.message, new RegExp(`belongs to uid ${NOBODY}`));
  const e2 = t.throws(() => SecureStore.createExclusive(state, 'invites', { x: 1 }, anything));
  t.regex(e2.message, new RegExp(`belongs to uid ${NOBODY}`));
  t.deepEqual(fs.readdirSync(state), ['roster.json']);
});

test('the node log that is a symbolic link is refused and its target left alone', (t) => {
  const state = tempDir(t);
  const target = path.join(tempDir(t), 'elsewhere.log');
  fs.writeFileSync(target, 'mine\n', { mode: 0o600 });
  fs.symlinkSync(target, logFilePath(state));
  t.regex(t.throws(() => openLogForAppend(state)).message, /symbolic link/);
  t.is(fs.readFileSync(target, 'utf8'), 'mine\n');
});

rootTest(test, 'a node log owned by another user is refused', (t) => {
  const state = tempDir(t);
  fs.writeFileSync(logFilePath(state), '', { mode: 0o600 });
  fs.chownSync(logFilePath(state), NOBODY, NOBODY);
  t.regex(t.throws(() => openLogForAppend(state)).message, new RegExp(`belongs to uid ${NOBODY}`));
});
