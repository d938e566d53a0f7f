import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { encodeKey } from '../core/base/keys.js';
import { isOverlayError, type OverlayError } from '../core/errors.js';
import { checkNodeName, IdentityStore } from '../core/identity/identityStore.js';
import { ensureStateDir, resolveStateDir } from '../core/store/stateDir.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-id-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function codeOf(fn: () => unknown): OverlayError {
  try {
    fn();
  } catch (e) {
    if (isOverlayError(e)) return e;
    throw e;
  }
  throw new Error('expected an OverlayError, nothing was thrown');
}

test('first use makes an identity: key file 0600 in a 0700 directory', (t) => {
  const dir = path.join(tempDir(t), 'state');
  const store = IdentityStore.openOrCreate(dir);
  t.is(fs.statSync(dir).mode & 0o777, 0o700);
  t.is(fs.statSync(store.path).mode & 0o777, 0o600);
  const id = store.load();
  t.is(id.keys.wireguard.publicKey.length, 32);
  t.is(id.keys.signing.secretKey.length, 64);
  t.is(id.name, null);
  // no temp files left behind
  t.deepEqual(fs.readdirSync(dir), ['identity.json']);
});

test('the identity is stable across opens', (t) => {
  const dir = tempDir(t);
  const a = IdentityStore.openOrCreate(dir).load();
  const b = IdentityStore.openOrCreate(dir).load();
  t.is(encodeKey(a.keys.wireguard.publicKey), encodeKey(b.keys.wireguard.publicKey));
  t.is(encodeKey(a.keys.signing.publicKey), encodeKey(b.keys.signing.publicKey));
});

test('two nodes in two directories get different keys', (t) => {
  const a = IdentityStore.openOrCreate(tempDir(t)).load();
  const b = IdentityStore.openOrCreate(tempDir(t)).load();
  t.not(encodeKey(a.keys.wireguard.publicKey), encodeKey(b.keys.wireguard.publicKey));
});

test('a store others can read is refused, naming the file and the fix, and left as it was', (t) => {
  const dir = tempDir(t);
  const { path: file } = IdentityStore.openOrCreate(dir);
  fs.chmodSync(file, 0o644);
  const before = fs.readFileSync(file);
  const e = codeOf(() => IdentityStore.openOrCreate(dir));
  t.is(e.code, 'ESTORE_PERMS');
  t.true(e.message.includes(file));
  t.true(e.hint?.includes(`chmod 600 ${file}`));
  t.deepEqual(fs.readFileSync(file), before);
});

for (const [label, damage] of [
  ['truncated JSON', (s: string) => s.slice(0, s.length / 2)],
  ['empty file', () => ''],
  ['not an object', () => '[1,2,3]'],
  ['a key of the wrong length', (s: string) => s.replace(/"publicKey": "[^"]+"/, '"publicKey": "AAAA"')],
  ['a public key that does not match its private key', (s: string) => swapWireguardPublicKey(s)],
  ['an unknown version', (s: string) => s.replace('"version": 1', '"version": 9')],
] as const) {
  test(`a corrupt store (${label}) is refused, never regenerated`, (t) => {
    const dir = tempDir(t);
    const { path: file } = IdentityStore.openOrCreate(dir);
    fs.writeFileSync(file, damage(fs.readFileSync(file, 'utf8')), { mode: 0o600 });
    const before = fs.readFileSync(file);
    const e = codeOf(() => IdentityStore.openOrCreate(dir));
    t.is(e.code, 'ESTORE_CORRUPT');
    t.true(e.message.includes(file), e.message);
    t.true(e.hint?.includes('mv '));
    t.deepEqual(fs.readFileSync(file), before);
  });
}

function swapWireguardPublicKey(text: string): string {
  const other = encodeKey(new Uint8Array(32).fill(7));
  return text.replace(/("wireguard": \{[^}]*"publicKey": ")[^"]+"/, `$1${other}"`);
}

test('a state directory that is a file is refused', (t) => {
  const file = path.join(tempDir(t), 'plain-file');
  fs.writeFileSync(file, 'x');
  t.is(codeOf(() => IdentityStore.openOrCreate(file)).code, 'ESTATE_DIR');
  t.is(codeOf(() => IdentityStore.openOrCreate(path.join(file, 'below'))).code, 'ESTATE_DIR');
});

test('a state directory other users can enter is refused with the chmod that fixes it', (t) => {
  const dir = tempDir(t);
  fs.chmodSync(dir, 0o755);
  const e = codeOf(() => ensureStateDir(dir));
  t.is(e.code, 'ESTATE_DIR');
  t.true(e.hint?.includes(`chmod 700 ${dir}`));
  t.deepEqual(fs.readdirSync(dir), []);
});

test('state directory: --state-dir wins over OVERLAY_HOME, which wins over the default', (t) => {
  t.is(resolveStateDir('/x/flag', { OVERLAY_HOME: '/x/env' }), '/x/flag');
  t.is(resolveStateDir(undefined, { OVERLAY_HOME: '/x/env' }), '/x/env');
  t.true(resolveStateDir(undefined, {}).endsWith(`${path.sep}overlay`));
  t.is(codeOf(() => resolveStateDir('  ', {})).code, 'ESTATE_DIR');
});

test('node names follow hostname rules', (t) => {
  t.is(checkNodeName('host-a1'), 'host-a1');
  for (const bad of ['', '-a', 'a-', 'A', 'a_b', 'a'.repeat(64), 'a b', 'ä']) {
    t.is(codeOf(() => checkNodeName(bad)).code, 'EUSAGE', bad);
  }
});

test('setName survives a reopen and keeps the keys', (t) => {
  const dir = tempDir(t);
  const store = IdentityStore.openOrCreate(dir);
  const before = store.load();
  store.setName('alpha');
  const after = IdentityStore.openOrCreate(dir).load();
  t.is(after.name, 'alpha');
  t.is(encodeKey(after.keys.wireguard.privateKey), encodeKey(before.keys.wireguard.privateKey));
  t.is(fs.statSync(store.path).mode & 0o777, 0o600);
});
