/**
 * A network's name, the middle of its zone: chosen at `init`, kept in network.json, handed to
 * joiners in the join answer, and read as `overlay` from state and answers that predate names.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test from 'ava';
import { formatSubnet } from '../../core/membership/addressing.js';
import { Writer } from '../../core/membership/binary.js';
import { createNetwork } from '../../core/membership/issue.js';
import { isMembershipError } from '../../core/membership/membershipError.js';
import { DEFAULT_NETWORK_NAME, networkFromJSON, networkToJSON } from '../../core/membership/network.js';
import { decodeJoinAccept, encodeJoinAccept } from '../../core/node/joinAccept.js';
import { NodeState } from '../../core/node/nodeState.js';
import { runCli } from '../helpers/cli.js';
import { rootTest } from '../helpers/root.js';
import { makeNetwork, makeNode, NOW } from '../membership/fixtures.js';

function tempDir(t: { teardown(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-netname-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a network keeps its name through network.json; one saved before names reads as the default', (t) => {
  const net = makeNetwork();
  const named = { ...net.network, name: 'home' };
  t.deepEqual(networkFromJSON(networkToJSON(named), 'network.json'), named);
  const { name: _, ...old } = networkToJSON(named);
  t.is(networkFromJSON(old, 'network.json').name, DEFAULT_NETWORK_NAME);
});

test('a network.json with a name that is no DNS label is refused as corrupt, naming it', (t) => {
  const json = networkToJSON(makeNetwork().network);
  for (const bad of ['Home', 'a.b', '', '-x', 'x'.repeat(64), 7]) {
    const e = t.throws(() => networkFromJSON({ ...json, name: bad }, '/state/network.json'));
    t.true(isMembershipError(e) && e.code === 'ESTORE_CORRUPT', String(bad));
    t.regex(e!.message, /network name/);
  }
});

test('createNetwork names the network, and refuses a name that is no DNS label', (t) => {
  const node = makeNode('a', makeNetwork().random);
  const options = {
    name: 'a',
    member: { wireguardKey: node.wireguard.publicKey, signingKey: node.signing.publicKey },
    random: makeNetwork(2).random,
    now: NOW,
  };
  t.is(createNetwork({ ...options, networkName: 'home' }).network.name, 'home');
  t.is(createNetwork(options).network.name, DEFAULT_NETWORK_NAME);
  t.throws(() => createNetwork({ ...options, networkName: 'Home Net' }), { message: /network name/ });
});

test("the join answer carries the network's name to the joiner", (t) => {
  const net = makeNetwork();
  const network = { ...net.network, name: 'home' };
  const records = [net.roster.get(net.roster.summaries()[0]!.id)!];
  const decoded = decodeJoinAccept(encodeJoinAccept({ network, records }, 1200));
  t.true(decoded.ok);
  t.deepEqual(decoded.ok && decoded.value.network, network);
});

/** A join answer as an inviter from before network names wrote it (version 1). */
function versionOneAccept(net: ReturnType<typeof makeNetwork>): Uint8Array {
  const record = net.roster.get(net.roster.summaries()[0]!.id)!;
  const text = (s: string) => new TextEncoder().encode(s);
  return new Writer()
    .u8(1)
    .bytes(net.network.key, 32)
    .short(text(formatSubnet(net.network.ipv4Subnet)))
    .short(text(formatSubnet(net.network.ipv6Subnet)))
    .u8(1)
    .short(text(record.id))
    .time(record.version)
    .u16(record.bytes.length)
    .bytes(record.bytes, record.bytes.length)
    .finish();
}

test('a join answer from an inviter that predates names is read as the default name', (t) => {
  const net = makeNetwork();
  const decoded = decodeJoinAccept(versionOneAccept(net));
  t.true(decoded.ok, decoded.ok ? '' : decoded.reason);
  t.is(decoded.ok && decoded.value.network.name, DEFAULT_NETWORK_NAME);
});

test('a join answer whose network name is no DNS label is refused', (t) => {
  const net = makeNetwork();
  const records = [net.roster.get(net.roster.summaries()[0]!.id)!];
  const bytes = encodeJoinAccept({ network: { ...net.network, name: 'Xx' }, records }, 1200);
  const decoded = decodeJoinAccept(bytes);
  t.false(decoded.ok);
  t.regex(decoded.ok ? '' : decoded.reason, /network name/);
});

rootTest(
  test,
  'init --network-name refuses a name that is no DNS label with one line, before anything is written',
  async (t) => {
    const dir = path.join(tempDir(t), 'a');
    const r = await runCli(['init', '--name', 'a', '--network-name', 'My_Net', '--state-dir', dir]);
    t.is(r.code, 2, r.stderr);
    t.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    t.regex(r.stderr, /--network-name "My_Net" is not a network name/);
    t.false(fs.existsSync(path.join(dir, 'identity.json')));
  },
  // init needs root's permissions (cli/needsRoot.ts), not namespaces
  { alone: false },
);

rootTest(
  test,
  // init needs root (cli/needsRoot.ts)
  'init --network-name names the zone; a network.json from before names is read as the default',
  async (t) => {
    const dir = path.join(tempDir(t), 'a');
    const r = await runCli(['init', '--name', 'a', '--network-name', 'home', '--json', '--state-dir', dir]);
    t.is(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { network: string; zone: string };
    t.deepEqual([out.network, out.zone], ['home', 'home.internal']);
    t.is(NodeState.open(dir)!.settings().network.name, 'home');
    const file = path.join(dir, 'network.json');
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { network: Record<string, unknown> };
    delete json.network['name'];
    fs.writeFileSync(file, JSON.stringify(json), { mode: 0o600 });
    t.is(NodeState.open(dir)!.settings().network.name, DEFAULT_NETWORK_NAME);
  },
  { alone: false },
);
