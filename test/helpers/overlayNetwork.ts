/**
 * A small overlay network for end-to-end tests: hosts on one LAN (see lan.ts), the first creates
 * the network and runs, each other joins with its own code and runs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { ControlClient, controlSocketPath } from '../../core/control/index.js';
import type { ControlApi, ControlStreams } from '../../core/node/controlApi.js';
import { networkStateDir } from '../../core/node/networks.js';
import type { NodeStatus } from '../../core/node/status.js';
import { lan, OverlayHost } from './lan.js';

export function stateRoot(t: Pick<ExecutionContext, 'teardown'>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ovl-net-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** a creates the network and runs; each other host joins with its own code and runs. */
export async function network(
  t: Pick<ExecutionContext, 'teardown'>,
  tag: string,
  names: string[],
): Promise<OverlayHost[]> {
  const { hosts } = lan(t, tag, names.length);
  const root = stateRoot(t);
  const nodes = names.map((n, i) => new OverlayHost(hosts[i]!, join(root, n)));
  const [first, ...rest] = nodes;
  await first!.ok(['init', '--name', names[0]!]);
  await first!.ok(['up']);
  for (const [i, node] of rest.entries()) {
    const { code } = await first!.json<{ code: string }>(['invite']);
    await node.ok(['join', code, '--name', names[i + 1]!]);
    await node.ok(['up']);
  }
  return nodes;
}

export async function status(node: OverlayHost): Promise<NodeStatus> {
  return node.json<NodeStatus>(['status']);
}

/**
 * The node's status as `status --json` prints it (the same control call), asked over its control
 * socket from the test's own process. For polls: a CLI process per look costs most of a second of
 * CPU on a loaded machine, so a poll through the CLI sees a condition late and slows the nodes it
 * watches. What a test asserts about the CLI itself goes through `status`. A poll that returns
 * sooner also makes the test act sooner: everyoneKnowsEveryone and natWorld's pathWithin, shared by
 * many tests, keep the CLI (a kick sent the moment both knew each other this way once went unheard
 * by the kicked member for 10 s in leave.test.ts).
 */
export async function polledStatus(node: OverlayHost): Promise<NodeStatus> {
  const dir = networkStateDir(node.stateDir, undefined, { command: 'status', words: [] });
  const client = await ControlClient.connect<ControlApi, ControlStreams>(controlSocketPath(dir), {
    timeoutMs: 5_000,
  });
  try {
    return await client.call('status');
  } finally {
    client.close();
  }
}

/** Polls until every node lists every other as a member (gossip has spread the certificates). */
export async function everyoneKnowsEveryone(nodes: OverlayHost[], timeoutMs: number): Promise<number> {
  const start = Date.now();
  const statuses: NodeStatus[] = [];
  while (Date.now() - start < timeoutMs) {
    statuses.splice(0, statuses.length, ...(await Promise.all(nodes.map(status))));
    const names = statuses.map((s) => s.self.name);
    const knows = (s: NodeStatus) =>
      names.every((n) => n === s.self.name || s.peers.some((p) => p.name === n));
    if (statuses.every(knows)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `members did not learn each other in ${timeoutMs} ms: ${JSON.stringify(statuses.map((s) => s.peers.map((p) => p.name)))}`,
  );
}
