/**
 * Several networks on one host (issue 14, "Several networks at once"): where each network's state
 * lives and which one a command means.
 *
 * The state directory (--state-dir, $OVERLAY_HOME, /var/lib/overlay) holds the first network
 * exactly as it always has, so a host in one network sees no change and nothing moves. Every
 * further network gets a directory of its own under it, `networks/NAME`, with its own identity,
 * network, roster, control socket, pid file, log and DNS backup: one node per network, which
 * shares nothing with the others but the machine. A network is known by its name (the one in its
 * certificates, the middle of `MEMBER.NAME.internal`), so two networks of one host never share a
 * name: their zones would clash.
 *
 * A command picks its network with --network NAME, else $OVERLAY_NETWORK, else the only one there
 * is; with several and none named, it asks (whichNetworkError).
 */
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../errors.js';
import { isNetworkName, NETWORK_NAME_RULE, type Network } from '../membership/network.js';
import { ensureStateDir, errnoOf } from '../store/stateDir.js';
import { type NodeSettings, NodeState } from './nodeState.js';

/** The folder of the state directory that holds the networks after the first. */
export const NETWORKS_DIR = 'networks';

/** The environment variable that names the network when --network does not. */
export const NETWORK_ENV = 'OVERLAY_NETWORK';

/** One network of this host: its name and the directory of its node. */
export interface HostNetwork {
  name: string;
  stateDir: string;
  /** Its settings; undefined when its state cannot be read (corrupt: its own commands say why). */
  settings?: NodeSettings;
}

/** The network a command names: --network, else $OVERLAY_NETWORK; undefined when neither does. */
export function wantedNetwork(flag: string | undefined, env: NodeJS.ProcessEnv): string | undefined {
  const chosen = flag ?? (env[NETWORK_ENV] === '' ? undefined : env[NETWORK_ENV]);
  if (chosen === undefined) return undefined;
  if (!isNetworkName(chosen)) {
    const from =
      flag === undefined ? `${NETWORK_ENV}=${JSON.stringify(chosen)}` : `--network ${JSON.stringify(chosen)}`;
    throw new OverlayError('EUSAGE', `${from} is not a network name`, { hint: `use ${NETWORK_NAME_RULE}` });
  }
  return chosen;
}

/**
 * The networks under `base`: the first in `base` itself, then `networks/NAME` by name. A directory
 * this user may not read (root's, to a user) shows none: such a user names its network.
 */
export function listNetworks(base: string): HostNetwork[] {
  const out: HostNetwork[] = [];
  if (!readable(base)) return out;
  const first = networkAt(base);
  if (first) out.push(first);
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(base, NETWORKS_DIR)).sort();
  } catch {
    // no second network yet, or a directory this user may not read
  }
  for (const name of names) {
    if (!isNetworkName(name)) continue;
    const found = networkAt(path.join(base, NETWORKS_DIR, name));
    // A directory holds the network its name says; anything else there is not ours to use.
    if (found && found.name === name) out.push(found);
  }
  return out;
}

function networkAt(dir: string): HostNetwork | undefined {
  let state: NodeState | undefined;
  try {
    state = NodeState.open(dir);
  } catch {
    // A corrupt network still counts, under its directory's name: its commands will say what is wrong.
    const name = path.basename(dir);
    return isNetworkName(name) ? { name, stateDir: dir } : undefined;
  }
  if (!state) return undefined;
  try {
    const settings = state.settings();
    return { name: settings.network.name, stateDir: dir, settings };
  } catch {
    return { name: path.basename(dir), stateDir: dir };
  }
}

/** What a command that needs a network is called as: its name and its arguments, for the hint. */
export interface Asker {
  command: string;
  /** The words after the command name, as typed (without --network). */
  words?: readonly string[];
}

/**
 * The state directory a command works on. Named: that network's (an unknown name is refused with
 * the names there are). Unnamed: the only network, or `base` when there is none (the command then
 * says "not in a network" as before); with several, which-network.
 */
export function networkStateDir(base: string, wanted: string | undefined, asker: Asker): string {
  const networks = listNetworks(base);
  if (wanted === undefined) {
    if (networks.length <= 1) return networks[0]?.stateDir ?? base;
    throw whichNetworkError(networks, asker);
  }
  const found = networks.find((n) => n.name === wanted);
  if (found) return found.stateDir;
  // A user who may not read root's directory names a network it cannot see: its directory is
  // where it would be, and the control socket there (or its absence) says the rest.
  if (!readable(base)) return path.join(base, NETWORKS_DIR, wanted);
  throw new OverlayError('EUSAGE', `this host is in no network named ${wanted}${namesText(networks)}`, {
    hint:
      networks.length === 0
        ? 'create one with overlay init, or join one with overlay join CODE'
        : `${choices(networks, asker)}; or join it with overlay join CODE`,
  });
}

/** "this host is in several networks": one line, with the commands to paste. */
export function whichNetworkError(networks: readonly HostNetwork[], asker: Asker): OverlayError {
  return new OverlayError(
    'EUSAGE',
    `this host is in ${networks.length} networks (${networks.map((n) => n.name).join(', ')}): say which`,
    { hint: choices(networks, asker) },
  );
}

function choices(networks: readonly HostNetwork[], asker: Asker): string {
  const words = asker.words?.length ? ` ${asker.words.join(' ')}` : '';
  return networks.map((n) => `overlay ${asker.command}${words} --network ${n.name}`).join(' or ');
}

function namesText(networks: readonly HostNetwork[]): string {
  return networks.length === 0 ? '' : ` (it is in ${networks.map((n) => n.name).join(', ')})`;
}

function readable(dir: string): boolean {
  try {
    fs.accessSync(dir, fs.constants.R_OK | fs.constants.X_OK);
    return true;
  } catch (e) {
    return errnoOf(e) === 'ENOENT';
  }
}

/**
 * Where a new network goes (init, join): `base` while it holds none, so a host's first network is
 * where it always was; else `networks/NAME`, made 0700 as the state directory is. A name already
 * used on this host is refused: the two zones would be one.
 */
export function newNetworkStateDir(
  base: string,
  network: Pick<Network, 'name'>,
  others: readonly HostNetwork[],
): string {
  const same = others.find((n) => n.name === network.name);
  if (same) {
    throw new OverlayError(
      'EUSAGE',
      `this host is already in a network named ${network.name} (${same.stateDir}); the names of both would be NAME.${network.name}.internal`,
      { hint: `leave it first (overlay leave --network ${network.name}), or use another --state-dir` },
    );
  }
  if (!others.some((n) => n.stateDir === base) && !holdsAnything(base)) return base;
  ensureStateDir(base);
  ensureStateDir(path.join(base, NETWORKS_DIR));
  return path.join(base, NETWORKS_DIR, network.name);
}

/** Whether `base` holds a network's files (network.json, or a corrupt one's roster). */
function holdsAnything(base: string): boolean {
  return ['network.json', 'roster.json', 'invites.json'].some((f) => fs.existsSync(path.join(base, f)));
}
