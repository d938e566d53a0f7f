/**
 * Which network a command means on a host in several (issue 14): --network, else
 * $OVERLAY_NETWORK, else the only one; with several and none named, one line asking which, with
 * the commands to paste. State made in temp directories, no root.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { askerOf } from '../../cli/nodeClient.js';
import { createNetwork } from '../../core/membership/issue.js';
import {
  listNetworks,
  NETWORK_ENV,
  NETWORKS_DIR,
  networkStateDir,
  newNetworkStateDir,
  wantedNetwork,
} from '../../core/node/networks.js';
import { NodeState } from '../../core/node/nodeState.js';
import { ensureStateDir } from '../../core/store/stateDir.js';
import { secureRandom } from '../../core/wireguard/primitives.js';

function base(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-nets-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'state');
}

/** A network's state in `dir`, as init writes it. */
function makeNetwork(dir: string, name: string, subnet: string): void {
  ensureStateDir(dir);
  const created = createNetwork({
    name: 'a',
    networkName: name,
    subnet,
    member: { wireguardKey: new Uint8Array(32).fill(1), signingKey: new Uint8Array(32).fill(2) },
    random: secureRandom,
    now: Date.now(),
  });
  NodeState.create(
    dir,
    {
      network: created.network,
      networkSecretKey: created.networkKeyPair.secretKey,
      listenPort: 51820,
      announce: [],
      relay: true,
      stun: [],
      dns: true,
    },
    created.roster,
  );
}

const ASK = { command: 'up', words: [] };

test('--network wins over OVERLAY_NETWORK, an empty variable counts as unset, and a bad name is one line', (t) => {
  t.is(wantedNetwork('home', { [NETWORK_ENV]: 'work' }), 'home');
  t.is(wantedNetwork(undefined, { [NETWORK_ENV]: 'work' }), 'work');
  t.is(wantedNetwork(undefined, { [NETWORK_ENV]: '' }), undefined);
  t.is(wantedNetwork(undefined, {}), undefined);
  t.throws(() => wantedNetwork('Home Net', {}), { message: /^--network "Home Net" is not a network name$/ });
  t.throws(() => wantedNetwork(undefined, { [NETWORK_ENV]: '../x' }), {
    message: /^OVERLAY_NETWORK="\.\.\/x" is not a network name$/,
  });
});

test('a host in one network: the state directory as before, named or not; none: the state directory', (t) => {
  const dir = base(t);
  t.is(networkStateDir(dir, undefined, ASK), dir, 'no network yet: the command says so itself');
  makeNetwork(dir, 'home', '100.80.0.0/16');
  t.is(networkStateDir(dir, undefined, ASK), dir);
  t.is(networkStateDir(dir, 'home', ASK), dir);
  t.throws(() => networkStateDir(dir, 'work', ASK), {
    message: 'this host is in no network named work (it is in home)',
  });
});

test('a host in two networks: the second in networks/NAME, each by its name, and "which?" when unnamed', (t) => {
  const dir = base(t);
  makeNetwork(dir, 'home', '100.80.0.0/16');
  const workDir = newNetworkStateDir(dir, { name: 'work' }, listNetworks(dir));
  t.is(workDir, path.join(dir, NETWORKS_DIR, 'work'));
  t.is(fs.statSync(path.join(dir, NETWORKS_DIR)).mode & 0o777, 0o700);
  makeNetwork(workDir, 'work', '100.90.0.0/16');
  t.deepEqual(
    listNetworks(dir).map((n) => [n.name, n.stateDir]),
    [
      ['home', dir],
      ['work', workDir],
    ],
  );
  t.is(networkStateDir(dir, 'work', ASK), workDir);
  t.is(networkStateDir(dir, 'home', ASK), dir);
  const e = t.throws(() => networkStateDir(dir, undefined, { command: 'ping', words: ['b'] }));
  t.is(e?.message, 'this host is in 2 networks (home, work): say which');
  t.is((e as { hint?: string }).hint, 'overlay ping b --network home or overlay ping b --network work');
  t.throws(() => newNetworkStateDir(dir, { name: 'work' }, listNetworks(dir)), {
    message: /already in a network named work/,
  });
});

test('a directory under networks/ that holds another network than its name says is not taken for either', (t) => {
  const dir = base(t);
  makeNetwork(dir, 'home', '100.80.0.0/16');
  makeNetwork(path.join(dir, NETWORKS_DIR, 'work'), 'office', '100.90.0.0/16');
  t.deepEqual(
    listNetworks(dir).map((n) => n.name),
    ['home'],
  );
});

test('the which-network hint repeats the command as typed, without --network or --state-dir', (t) => {
  const ctx = {
    command: 'ping',
    argv: ['b', '--state-dir', '/x', '--count', '3', '--network=home', "it's"],
    args: [],
    flags: {},
    env: {},
    stdout: process.stdout,
    stderr: process.stderr,
  };
  t.deepEqual(askerOf(ctx), { command: 'ping', words: ['b', '--count', '3', `'it'\\''s'`] });
});
