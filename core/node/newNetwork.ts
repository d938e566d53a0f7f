/**
 * A network joining this host's others (init, join): its directory, port, interface and range,
 * chosen so that it shares none of them with another network of the host (networks.ts,
 * networkResources.ts). A host's first network is made exactly as before: in the state directory,
 * on the default port, on the kernel's ovlN.
 */
import path from 'node:path';
import type { IPv4Subnet } from '../membership/addressing.js';
import type { Network } from '../membership/network.js';
import {
  type Clash,
  type HostFacts,
  pickInterface,
  pickListenPort,
  readHostFacts,
  subnetClash,
  subnetClashError,
} from './networkResources.js';
import { type HostNetwork, listNetworks, NETWORKS_DIR, newNetworkStateDir } from './networks.js';
import { DEFAULT_LISTEN_PORT } from './nodeState.js';

/** What a new network of this host starts from. */
export interface NewNetworkPlan {
  base: string;
  /** The host's networks now. */
  others: HostNetwork[];
  facts: HostFacts;
  /** Whether it is the host's first network (it goes in `base`, as before). */
  first: boolean;
  /** Where a join keeps its new keys until it knows the network (never a network's directory). */
  keysDir: string;
}

export function planNewNetwork(base: string, facts: HostFacts = readHostFacts()): NewNetworkPlan {
  const others = listNetworks(base);
  const first = others.length === 0;
  return { base, others, facts, first, keysDir: first ? base : path.join(base, NETWORKS_DIR, '.joining') };
}

/** --listen, else the default for a first network, else the first port no other network uses. */
export function listenPortFor(plan: NewNetworkPlan, given: number | undefined): number {
  if (given !== undefined) return given;
  return plan.first ? DEFAULT_LISTEN_PORT : pickListenPort(plan.others, plan.facts.udpPorts);
}

/**
 * Refuses a range that overlaps another network or a route of this host: `fix` says what to do.
 */
export function assertFreeRange(
  plan: NewNetworkPlan,
  subnet: IPv4Subnet,
  fix: (clash: Clash) => string,
  whose?: string,
): void {
  const clash = subnetClash(subnet, plan.others, plan.facts.routes);
  if (clash !== undefined) throw subnetClashError(subnet, clash, fix(clash), whose);
}

/** The directory and interface of `network`, refused when its name or range is taken here. */
export function placeNetwork(
  plan: NewNetworkPlan,
  network: Pick<Network, 'name' | 'ipv4Subnet'>,
): { stateDir: string; interface?: string } {
  assertFreeRange(
    plan,
    network.ipv4Subnet,
    (clash) =>
      clash.network !== undefined
        ? `the networks of one host need ranges apart: leave ${clash.network} first (overlay leave --network ${clash.network}), then join ${network.name} with a new code`
        : `move that route off the range, then join ${network.name} with a new code`,
    network.name,
  );
  const stateDir = newNetworkStateDir(plan.base, network, plan.others);
  if (stateDir === plan.base) return { stateDir };
  return { stateDir, interface: pickInterface(network.name, plan.others, plan.facts.links) };
}
