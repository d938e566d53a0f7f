/**
 * A member's network state in its state directory, beside identity.json:
 *   network.json  the network (key, subnets), this node's settings, and the network's secret key
 *                 on the node that created it
 *   roster.json   every certificate, revocation and endpoint record this node holds
 *   invites.json  the invites this node issued (secrets only as hashes)
 * All three are secret-bearing or integrity-critical, so all are SecureStores: 0600, atomic
 * writes, refused (never reset) when corrupt.
 */

import { encodeKey } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import { decodeKey } from '../identity/keys.js';
import { InviteBook, type InviteBookJSON } from '../membership/inviteBook.js';
import { type Network, type NetworkJSON, networkFromJSON, networkToJSON } from '../membership/network.js';
import type { Roster } from '../membership/roster.js';
import { rosterFromJSON, rosterToJSON } from '../membership/rosterFile.js';
import { isPortMappingMode, type PortMappingMode } from '../portmap/portMapper.js';
import { SecureStore } from '../store/secureStore.js';
import { MAX_RELAY_RATE_MBIT } from '../tunnel/types.js';
import { isRelayRate, parseStunFlag } from './flags.js';

export const DEFAULT_LISTEN_PORT = 51820;

/** An interface name the kernel takes: 1-15 bytes, no '/', ':', '%' or whitespace. */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

interface NetworkFile {
  version: 1;
  network: NetworkJSON;
  /** base64 Ed25519 secret key; only on the node that ran `init` */
  networkSecretKey: string | null;
  listenPort: number;
  /** --endpoint values: addresses peers may use besides the ones found on interfaces */
  announce: string[];
  /** `up --no-relay` / `--relay`, remembered for the next `up`; absent: relays. */
  relay?: boolean;
  /** `up --stun` servers, remembered for the next `up`; absent: none. */
  stun?: string[];
  /** `up --no-dns` / `--dns`, remembered for the next `up`; absent: the host's DNS learns the zone. */
  dns?: boolean;
  /** `up --relay-rate`, Mbit/s, remembered for the next `up`; absent: DEFAULT_RELAY_RATE_MBIT. */
  relayRateMbit?: number;
  /** `up --port-mapping`, remembered; absent: auto (every protocol). */
  portMapping?: PortMappingMode;
  /** The interface of a network after a host's first (networkResources.ts); absent: the kernel's ovlN. */
  interface?: string;
  [key: string]: unknown;
}

export interface NodeSettings {
  network: Network;
  networkSecretKey: Uint8Array | null;
  listenPort: number;
  announce: string[];
  /** Whether this node relays between other members (`up --no-relay` turns it off). */
  relay: boolean;
  /** STUN servers (HOST:PORT) to learn the reflexive address from. */
  stun: string[];
  /** Whether `up` points the host's DNS at the node's resolver for the zone (`up --no-dns`: no). */
  dns: boolean;
  /** What each member may make this node carry as its relay, Mbit/s (`up --relay-rate`); absent: the default. */
  relayRateMbit?: number;
  /** Which port mapping protocols to ask the gateway with (`up --port-mapping`); absent: auto. */
  portMapping?: PortMappingMode;
  /** The interface's name, chosen when a host's second network was made; absent: the kernel's `ovlN`. */
  interface?: string;
}

/** What `up`'s flags change in the settings, remembered so the next `up` starts the same node. */
export interface RunOptions {
  listenPort?: number;
  relay?: boolean;
  stun?: string[];
  announce?: string[];
  dns?: boolean;
  relayRateMbit?: number;
  portMapping?: PortMappingMode;
}

function validateNetworkFile(data: unknown): NetworkFile {
  const d = data as Partial<NetworkFile> | null;
  const bad = (what: string) => new OverlayError('ESTORE_CORRUPT', what);
  if (typeof d !== 'object' || d === null) throw bad('not a JSON object');
  if (d.version !== 1) throw bad(`unknown version ${JSON.stringify(d.version)}`);
  networkFromJSON(d.network, 'network');
  if (d.networkSecretKey !== null) {
    try {
      decodeKey(d.networkSecretKey as string, 64, 'networkSecretKey');
    } catch {
      throw bad('networkSecretKey is not a 64-byte base64 key');
    }
  }
  if (!Number.isInteger(d.listenPort) || (d.listenPort as number) < 1 || (d.listenPort as number) > 65535) {
    throw bad('listenPort is not a port number');
  }
  if (!Array.isArray(d.announce) || !d.announce.every((e) => typeof e === 'string')) {
    throw bad('announce is not a list of endpoints');
  }
  if (d.relay !== undefined && typeof d.relay !== 'boolean') throw bad('relay is not true or false');
  if (d.dns !== undefined && typeof d.dns !== 'boolean') throw bad('dns is not true or false');
  if (d.stun !== undefined && !(Array.isArray(d.stun) && d.stun.every(isStunServer))) {
    throw bad('stun is not a list of HOST:PORT');
  }
  if (d.relayRateMbit !== undefined && !isRelayRate(d.relayRateMbit)) {
    throw bad(`relayRateMbit is not a whole number of Mbit/s from 1 to ${MAX_RELAY_RATE_MBIT}`);
  }
  if (d.portMapping !== undefined && !isPortMappingMode(d.portMapping))
    throw bad('portMapping is not a mode');
  if (d.interface !== undefined && !(typeof d.interface === 'string' && IFNAME.test(d.interface)))
    throw bad('interface is not an interface name');
  return d as NetworkFile;
}

const asRecord = <T>(value: T) => value as unknown as Record<string, unknown>;

/** Rosters the validator just built, by the file contents they came from: loadRoster takes them. */
const validatedRosters = new WeakMap<object, Roster>();

function validateRosterFile(data: unknown): Record<string, unknown> {
  const roster = rosterFromJSON(data, 'roster');
  if (typeof data === 'object' && data !== null) validatedRosters.set(data, roster);
  return data as Record<string, unknown>;
}

function validateInvitesFile(data: unknown): Record<string, unknown> {
  InviteBook.fromJSON(data as InviteBookJSON);
  return data as Record<string, unknown>;
}

/** The three stores of a member; `open` returns undefined when this node is in no network yet. */
export class NodeState {
  private constructor(
    private readonly networkStore: SecureStore<NetworkFile>,
    private readonly rosterStore: SecureStore<Record<string, unknown>>,
    private readonly invitesStore: SecureStore<Record<string, unknown>>,
  ) {}

  static open(stateDir: string): NodeState | undefined {
    const network = SecureStore.open(stateDir, 'network', validateNetworkFile);
    if (!network) return undefined;
    const roster = SecureStore.open(stateDir, 'roster', validateRosterFile);
    const invites = SecureStore.open(stateDir, 'invites', validateInvitesFile);
    if (!roster || !invites) {
      throw new OverlayError(
        'ESTORE_CORRUPT',
        `${stateDir} has network.json but not roster.json and invites.json`,
        {
          hint: 'restore them from a backup, or move network.json away and join again',
        },
      );
    }
    return new NodeState(network, roster, invites);
  }

  /** Writes a new member's state; fails if the node already belongs to a network. */
  static create(stateDir: string, settings: NodeSettings, roster: Roster): NodeState {
    // roster and invites first: network.json is what marks the node as a member, so a crash
    // part-way leaves a node that is not yet a member, never one with a missing roster.
    const rosterStore = writeFresh(stateDir, 'roster', asRecord(rosterToJSON(roster)), validateRosterFile);
    const invitesStore = writeFresh(
      stateDir,
      'invites',
      asRecord(new InviteBook().toJSON()),
      validateInvitesFile,
    );
    const networkStore = SecureStore.createExclusive(
      stateDir,
      'network',
      toNetworkFile(settings),
      validateNetworkFile,
    );
    if (!networkStore) {
      throw new OverlayError('EUSAGE', `this node already belongs to a network (${stateDir}/network.json)`, {
        hint: 'leave it first (overlay leave), or use another --state-dir for a second network',
      });
    }
    return new NodeState(networkStore, rosterStore, invitesStore);
  }

  /**
   * Removes the network's state (`overlay leave`); the identity stays. network.json goes first: it
   * marks the node as a member, so a crash part-way leaves a node in no network, never one with a
   * network and no roster.
   */
  static forget(stateDir: string): void {
    for (const name of ['network', 'roster', 'invites']) SecureStore.remove(stateDir, name);
  }

  settings(): NodeSettings {
    const f = this.networkStore.read();
    return {
      network: networkFromJSON(f.network, this.networkStore.path),
      networkSecretKey:
        f.networkSecretKey === null ? null : decodeKey(f.networkSecretKey, 64, 'networkSecretKey'),
      listenPort: f.listenPort,
      announce: f.announce,
      relay: f.relay ?? true,
      stun: f.stun ?? [],
      dns: f.dns ?? true,
      ...(f.relayRateMbit !== undefined && { relayRateMbit: f.relayRateMbit }),
      portMapping: f.portMapping ?? 'auto',
      ...(f.interface !== undefined && { interface: f.interface }),
    };
  }

  /** Remembers `up`'s flags for the next `up` (only those given). */
  saveRunOptions(options: RunOptions): void {
    const f = this.networkStore.read();
    this.networkStore.write({
      ...f,
      ...(options.listenPort !== undefined && { listenPort: options.listenPort }),
      ...(options.relay !== undefined && { relay: options.relay }),
      ...(options.stun !== undefined && { stun: options.stun }),
      ...(options.announce !== undefined && { announce: options.announce }),
      ...(options.dns !== undefined && { dns: options.dns }),
      ...(options.relayRateMbit !== undefined && { relayRateMbit: options.relayRateMbit }),
      ...(options.portMapping !== undefined && { portMapping: options.portMapping }),
    });
  }

  /** The roster on disk; reading it checks every record once (the validator's Roster is kept). */
  loadRoster(): Roster {
    const data = this.rosterStore.read();
    return validatedRosters.get(data) ?? rosterFromJSON(data, this.rosterStore.path);
  }

  saveRoster(roster: Roster): void {
    this.rosterStore.write(asRecord(rosterToJSON(roster)), { serialisedFromValid: true });
  }

  loadInvites(): InviteBook {
    return InviteBook.fromJSON(this.invitesStore.read() as unknown as InviteBookJSON);
  }

  saveInvites(book: InviteBook): void {
    this.invitesStore.write(asRecord(book.toJSON()));
  }
}

function toNetworkFile(s: NodeSettings): NetworkFile {
  return {
    version: 1,
    network: networkToJSON(s.network),
    networkSecretKey: s.networkSecretKey ? encodeKey(s.networkSecretKey) : null,
    listenPort: s.listenPort,
    announce: s.announce,
    ...(!s.relay && { relay: false }),
    ...(s.stun.length > 0 && { stun: s.stun }),
    ...(!s.dns && { dns: false }),
    ...(s.relayRateMbit !== undefined && { relayRateMbit: s.relayRateMbit }),
    ...(s.portMapping !== undefined && s.portMapping !== 'auto' && { portMapping: s.portMapping }),
    ...(s.interface !== undefined && { interface: s.interface }),
  };
}

function isStunServer(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  try {
    parseStunFlag(value);
    return true;
  } catch {
    return false;
  }
}

function writeFresh(
  dir: string,
  name: string,
  value: Record<string, unknown>,
  validate: (d: unknown) => Record<string, unknown>,
): SecureStore<Record<string, unknown>> {
  const existing = SecureStore.open(dir, name, validate);
  if (existing) {
    existing.write(value);
    return existing;
  }
  const created = SecureStore.createExclusive(dir, name, value, validate);
  if (!created) throw new OverlayError('EINTERNAL', `${dir}/${name}.json appeared while being created`);
  return created;
}
