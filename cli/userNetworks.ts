/**
 * The networks of a state directory that a user who may not read it (root's /var/lib/overlay) can
 * see: those whose nodes run. Such a user cannot list `networks/`, but every running node serves
 * a read-only socket in the run directory, named by a hash of its state directory
 * (core/control/readOnlySocket.ts). The user asks each socket there for its status — the method
 * any user may call there — and keeps a node only when its network's directory under `base`
 * (`base` itself, or `networks/NAME`) hashes to that very socket: a node of another state
 * directory is not shown under this one, and a node cannot pass for another network by its name.
 * What is shown is what that socket serves anyone, no more; a network whose node is down is not
 * seen (root sees it: `sudo overlay status`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { ControlClient } from '../core/control/index.js';
import { readOnlySocketPath, runDir } from '../core/control/readOnlySocket.js';
import { isNetworkName } from '../core/membership/network.js';
import type { ControlApi, ControlStreams } from '../core/node/controlApi.js';
import { type HostNetwork, NETWORKS_DIR } from '../core/node/networks.js';

/**
 * Sockets looked at, at most, and at once: the run directory is shared by every node of the
 * machine, and keeps the sockets of nodes killed with -9 until the next boot (tmpfs); those
 * refuse the connection at once.
 */
const MAX_SOCKETS = 1024;
const AT_ONCE = 64;

/** The running networks of `base` this user can reach, the first network (`base` itself) first. */
export async function runningNetworks(
  base: string,
  env: NodeJS.ProcessEnv,
  timeoutMs = 2000,
): Promise<HostNetwork[]> {
  const dir = runDir(env);
  let entries: string[];
  try {
    entries = fs
      .readdirSync(dir)
      .filter((f) => /^[0-9a-f]{16}\.sock$/.test(f))
      .slice(0, MAX_SOCKETS);
  } catch {
    return [];
  }
  const networks: HostNetwork[] = [];
  for (let i = 0; i < entries.length; i += AT_ONCE) {
    const found = await Promise.all(
      entries.slice(i, i + AT_ONCE).map(async (file): Promise<HostNetwork | undefined> => {
        const socket = path.join(dir, file);
        const name = await networkNameAt(socket, timeoutMs);
        if (name === undefined || !isNetworkName(name)) return undefined;
        const candidates = [base, path.join(base, NETWORKS_DIR, name)];
        const stateDir = candidates.find((d) => readOnlySocketPath(d, env) === socket);
        return stateDir === undefined ? undefined : { name, stateDir };
      }),
    );
    for (const n of found) if (n) networks.push(n);
  }
  // The first network where listNetworks puts it; the others by name, as listNetworks does.
  return networks.sort((a, b) =>
    a.stateDir === base ? -1 : b.stateDir === base ? 1 : a.name.localeCompare(b.name),
  );
}

/** The network name a read-only socket's node reports, or undefined when none answers. */
async function networkNameAt(socket: string, timeoutMs: number): Promise<string | undefined> {
  let client: ControlClient<ControlApi, ControlStreams> | undefined;
  try {
    client = await ControlClient.connect<ControlApi, ControlStreams>(socket, { timeoutMs });
    return (await client.call('status')).self.network;
  } catch {
    return undefined; // a stale socket of a node that crashed, or one that is not a node's
  } finally {
    client?.close();
  }
}
