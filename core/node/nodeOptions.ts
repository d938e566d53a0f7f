/**
 * What a node is started with (`overlay up`'s flags, or a test's twins) and how those flags and the
 * settings `up` last remembered combine into the settings the node runs with: a flag given wins,
 * a flag left out keeps what the state directory says.
 */

import type { PortMappingMode } from '../portmap/portMapper.js';
import type { NodeIo } from '../tunnel/io.js';
import type { NodeSettings } from './nodeState.js';

export interface NodeOptions {
  stateDir: string;
  log: (line: string) => void;
  /** Tests only: shortened WireGuard timings. */
  timings?: Record<string, number>;
  /**
   * False (--no-relay): carry no traffic between other members, and say so in the endpoint
   * record. Undefined: as the node's settings say (what the last `up` remembered).
   */
  relay?: boolean;
  /** --stun servers (HOST:PORT) to learn this node's reflexive address from; undefined: the settings'. */
  stun?: readonly string[];
  /** `up --listen`: the UDP port; undefined: the settings'. */
  listenPort?: number;
  /** --endpoint: addresses to announce besides those discovered (a port forward); undefined: the settings'. */
  announce?: string[];
  /** `up --relay-rate`: Mbit/s each member may send through this node; undefined: the settings'. */
  relayRateMbit?: number;
  portMapping?: PortMappingMode; // up --port-mapping (PCP, NAT-PMP, UPnP); undefined: the settings'
  /** The TUN device, data path and interface list: the machine's own unless a test gives twins. */
  io?: NodeIo;
  /** Answer the members' names on the overlay address (`up` does; in-process test nodes do not). */
  serveNames?: boolean;
  /** `up --no-dns` (false): leave the host's DNS alone; undefined: as the settings say. */
  dns?: boolean;
}

/** The settings the node runs with: `options`' flags over the remembered `settings`. */
export function runSettings(options: NodeOptions, settings: NodeSettings): NodeSettings {
  return {
    ...settings,
    listenPort: options.listenPort ?? settings.listenPort,
    announce: options.announce ?? settings.announce,
    relayRateMbit: options.relayRateMbit ?? settings.relayRateMbit,
    portMapping: options.portMapping ?? settings.portMapping,
  };
}
