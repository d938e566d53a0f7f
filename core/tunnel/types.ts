/** What a Tunnel is made with and what it reports: its options, a peer's configuration and status. */
import type { DataPathOptions, DataPathStats, HandshakeScreenOptions } from 'tun-napi';
import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { Timings } from '../wireguard/constants.js';
import type { ControlCountsSnapshot } from './controlCounts.js';
import type { OpenDataPath, TunDevice } from './io.js';

export interface TunnelOptions {
  /** An open TUN device; the tunnel's data path keeps its own handle on it. */
  tun: TunDevice;
  /** Opens the data path on `tun`: the native one unless a test gives its twin (io.ts). */
  openDataPath?: OpenDataPath;
  privateKey: Uint8Array;
  listenPort?: number;
  /** The TUN device's MTU: the largest inner packet (default TUN_MTU). */
  mtu?: number;
  /**
   * This node's overlay addresses (host prefixes): the data path delivers packets to these only,
   * and drops (rxDestinationDenied) what a peer sends anywhere else. Absent: every destination.
   */
  addresses?: string[];
  /** Tests only: shortened whitepaper timings, applied to both the handshake and the data path. */
  timings?: Partial<Timings>;
  /** How often the data path's counters are read for the timers while traffic moves (trafficWatch.ts). */
  trafficPollMs?: number;
  /**
   * Transport to or from this peer moved (keepalives included), seen when the counters are read:
   * within trafficPollMs of it while traffic moves, at once after a quiet spell.
   */
  onPeerTraffic?: (peer: PeerId) => void;
  /**
   * overlay's own messages (type byte >= 0x80: discovery, gossip, joins) that arrive on the
   * WireGuard port; WireGuard's handshake messages are handled here. `via` is the relay member's
   * public key when the datagram came in a relay envelope (`from` is then the relay's address);
   * `arrival`: the extra socket it came in on (openSocket; absent for the main one), and when the
   * data path received it (ms, CLOCK_MONOTONIC: process.hrtime's clock), when the data path says.
   */
  onOverlayMessage?: (data: Uint8Array, from: Endpoint, via?: Uint8Array, arrival?: Arrival) => void;
  /** STUN messages on the WireGuard port (answers to --stun queries); never ones from a relay. */
  onStunMessage?: (data: Uint8Array, from: Endpoint) => void;
  /**
   * The mac1 key of sealed messages to this node (core/overlayWire/sealed.ts mac1Key): with it the
   * data path drops sealed datagrams from anyone who does not know our key before they reach
   * JavaScript, and budgets the rest per sender.
   */
  sealedScreenKey?: Uint8Array;
  /**
   * Bytes per second this node forwards for each sending member as a relay (issue 5: any member
   * may relay), each envelope charged its length and the headers under it; 0 turns the relay
   * service off (--no-relay). Default: DEFAULT_RELAY_RATE_MBIT.
   */
  relayBytesPerSecond?: number;
  /** Tests only: other limits for the data path's handshake screen (when it is under load, ...). */
  handshakeScreen?: HandshakeScreenOptions;
  /** The data path's packet-moving knobs (native/index.d.ts); absent, the native defaults. */
  tuning?: DataPathTuning;
}

/** The DataPathOptions that tune how packets move, not what the tunnel is. */
export type DataPathTuning = Pick<DataPathOptions, 'tunQueueLength' | 'offload'>;

/**
 * What each member may make this node carry as its relay, in Mbit/s (`up --relay-rate`): a byte
 * rate, because what a relay spends on a member is its uplink, whatever the envelopes' sizes
 * (issue 12, point 4). A relayed TCP stream ran at ~1.1 Gbit/s on the 2-core machine of the bench
 * (`npm run bench:paths -- --throughput`), so 2000 leaves one pair its full speed with room for
 * the ACKs' charge and bursts, and still bounds a member at about what a 2.5 GbE link carries:
 * no member can make another its bulk carrier beyond that, however many it relays for.
 */
export const DEFAULT_RELAY_RATE_MBIT = 2_000;
/** The largest --relay-rate: the data path's budget is a 32-bit count of bytes per second. */
export const MAX_RELAY_RATE_MBIT = 30_000;

/** A relay rate in Mbit/s as the data path's bytes per second. */
export function relayBytesPerSecond(mbit: number): number {
  return Math.round(mbit * 125_000);
}

/** Where a peer's datagrams go: straight to an endpoint, or in envelopes through relay member `relayVia`. */
export type TunnelPeerPath = { direct: Endpoint } | { relayVia: Uint8Array };

export interface TunnelPeerConfig {
  publicKey: Uint8Array;
  presharedKey?: Uint8Array;
  endpoint?: Endpoint;
  /** Inner addresses this peer may send from and is routed to, as CIDR text. */
  allowedIps: string[];
  persistentKeepaliveMs?: number;
  /**
   * This node forwards packets between this peer and its other peers (a plain WireGuard device
   * it hosts for the mesh); the data path does it without the host's IP forwarding.
   */
  forward?: boolean;
}

export interface TunnelPeerStatus {
  publicKey: PeerId;
  endpoint: string | null;
  rxBytes: number;
  txBytes: number;
  /** Authenticated transport messages received from / sent to this peer, keepalives included. */
  rxPackets: number;
  txPackets: number;
  handshakes: number;
  /** ms since the last completed handshake, null if none */
  lastHandshakeAgeMs: number | null;
  /** round trip of the last handshake this node initiated, null if none */
  rttMs: number | null;
}

/** Every counter of the data path, and what became of each datagram it handed up (controlCounts.ts). */
export type TunnelStats = DataPathStats &
  ControlCountsSnapshot & {
    /** Sessions the data path refused to install; should stay 0. */
    sessionInstallFailed: number;
    /** Handshakes from a key that is not a peer (never was, or revoked): controlDropped.unknownPeer. */
    handshakesRefused: number;
    /** Extra sockets open (birthday probing's holes, and the ones that won), and what they moved. */
    extraSockets: number;
    extraSocketRxPackets: number;
    extraSocketTxPackets: number;
  };

/** How one of overlay's datagrams arrived: on which extra socket (absent: the main one), and when. */
export interface Arrival {
  readonly socket?: number;
  /** ms on CLOCK_MONOTONIC (process.hrtime's clock), as the data path's receive thread saw it. */
  readonly at?: number;
}
