/**
 * The two narrow interfaces through which a node reaches the kernel (DESIGN.md "Layers"): its TUN
 * device and its data path. Production uses the native ones (`nativeIo`); tests inject in-memory
 * twins (test/twins) so whole nodes meet in one process without root. Both interfaces are exactly
 * what core/node and core/tunnel use, no more: a twin that implements them is a complete stand-in,
 * and test/twins/compliance.test.ts holds the twin and the native data path to the same behaviour.
 */
import type os from 'node:os';
import { networkInterfaces } from 'node:os';
import { DataPath, type DataPathEvent, type DataPathOptions, Tun } from 'tun-napi';
import { nativePortMapIo, type PortMapIo } from '../portmap/portMapIo.js';

/**
 * A TUN device, batch-shaped like native/index.d.ts's Tun (which implements it): the node
 * configures it, the data path moves packets through readBatch/writeBatch in slots of `slotSize`.
 */
export interface TunDevice {
  readonly name: string;
  setMtu(mtu: number): void;
  up(): void;
  addAddress(cidr: string): void;
  setRouteMtu(prefix: string, mtu: number | null): void;
  readBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, maxPackets?: number): number;
  writeBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, count: number): number;
  onReadable(callback: (error?: Error) => void): void;
  stopReading(): void;
  close(): void;
}

/** What core/tunnel uses of the native DataPath: its configuration, sends, counters and close. */
export type DataPathIo = Pick<
  DataPath,
  | 'port'
  | 'relayEpoch'
  | 'setPeer'
  | 'setSealedScreen'
  | 'setHandshakeScreen'
  | 'setEndpoint'
  | 'removePeer'
  | 'installSession'
  | 'removeSession'
  | 'sendControl'
  | 'sendControlToPeer'
  | 'sendControlVia'
  | 'sendKeepalive'
  | 'setRelayKey'
  | 'setPeerPath'
  | 'setRelayService'
  | 'peerStats'
  | 'stats'
  | 'watchTraffic'
  | 'close'
> &
  /** Extra sockets (birthday probing, core/discovery/birthday.ts): a twin without them has none. */
  Partial<Pick<DataPath, 'openSocket' | 'closeSocket' | 'bindSocket' | 'socketStats'>>;

/** Opens a data path on `tun`; its events come in batches on the event loop. */
export type OpenDataPath = (
  tun: TunDevice,
  options: DataPathOptions,
  onEvents: (events: DataPathEvent[]) => void,
) => DataPathIo;

/** Everything a node asks of the machine it runs on. */
export interface NodeIo {
  /** Creates a TUN interface; failures are native/index.d.ts's TunError codes (EPERM, EBUSY, ...). */
  openTun(name: string): TunDevice;
  openDataPath: OpenDataPath;
  /** The machine's interface addresses (os.networkInterfaces), for the node's local candidates. */
  networkInterfaces(): NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  /** The default route and sockets to ask the gateway for a port mapping; absent: no port mapping. */
  portMap?: PortMapIo;
}

/** The production pairing: the native TUN device and the native data path that reads it. */
export const nativeIo: NodeIo = {
  openTun: (name) => new Tun({ name }),
  // Only a native Tun is ever passed here: nativeIo opens both, and the addon checks it again.
  openDataPath: (tun, options, onEvents) => new DataPath(tun as Tun, options, onEvents),
  networkInterfaces: () => networkInterfaces(),
  portMap: nativePortMapIo,
};
