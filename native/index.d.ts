/**
 * tun-napi: overlay's data path as a Node-API addon. This release: the TUN device.
 *
 * Packets move in batches through memory the caller allocates once: one buffer divided into
 * fixed slots of `slotSize` bytes (MTU plus any headroom), and a Uint32Array holding each
 * slot's packet length. Nothing is allocated per packet.
 *
 * @example
 * const tun = new Tun({ name: 'ovl0' });
 * tun.setMtu(1420);
 * tun.up();
 * tun.addAddress('100.64.0.1/24');
 * const slot = 1420 + 64;
 * const buf = Buffer.alloc(64 * slot);
 * const lens = new Uint32Array(64);
 * tun.onReadable(() => {
 *   let n: number;
 *   do {
 *     n = tun.readBatch(buf, lens, slot);
 *     // packet i is buf.subarray(i * slot, i * slot + lens[i])
 *   } while (n === lens.length);
 * });
 */

import type { DataPathStats } from './counters';

export type { DataPathStats };

/** Bumped when this API changes incompatibly. */
export declare const abiVersion: number;

/** Longest interface name the kernel accepts (15 bytes). */
export declare const maxNameLength: number;

/**
 * Why an operation failed:
 * - `EPERM`: not root and no CAP_NET_ADMIN (or /dev/net/tun not accessible)
 * - `ENOTUN`: no /dev/net/tun (tun module missing, or hidden in a container)
 * - `EBUSY`: the interface name is taken (by a TUN in use, or by another kind of link)
 * - `EADDRINUSE`: a DataPath's UDP port is bound by another socket
 * - `EINVAL`: bad interface name, address, prefix length or MTU
 * - `ETUN`: anything else, including use after close(); see `errno` and `syscall`
 */
export type TunErrorCode = 'EPERM' | 'ENOTUN' | 'EBUSY' | 'EADDRINUSE' | 'EINVAL' | 'ETUN';

/** Every failure of a Tun operation is thrown as this, with a one-line message naming the device. */
export interface TunError extends Error {
  code: TunErrorCode;
  /** Negative errno (as in Node's own system errors), absent when input validation failed. */
  errno?: number;
  /** The system call or rtnetlink request that failed, e.g. `ioctl(TUNSETIFF)`, `RTM_NEWADDR`. */
  syscall?: string;
  /** The interface name, or `(kernel-chosen name)` when opening without one failed. */
  device: string;
}

/** True when `error` is a TunError thrown by this addon. */
export declare function isTunError(error: unknown): error is TunError;

export interface TunOptions {
  /**
   * Interface name, at most 15 bytes, no '/', ':' or whitespace; a `%d` in it is filled in by
   * the kernel. Omit it to let the kernel choose (`tunN`). Attaching to an existing persistent
   * TUN of that name works; any other existing link of that name is EBUSY.
   */
  name?: string;
}

/** Counters kept by the addon (not the kernel's interface counters). */
export interface TunStats {
  /** Packets and bytes read from the device by readBatch. */
  rxPackets: number;
  rxBytes: number;
  /** Packets and bytes written to the device by writeBatch. */
  txPackets: number;
  txBytes: number;
  /** Packets writeBatch consumed but the kernel refused (neither IPv4 nor IPv6). */
  txRejected: number;
}

/**
 * A TUN interface (IFF_TUN | IFF_NO_PI: packets are bare IPv4/IPv6, no header) in the network
 * namespace of the calling process. It lives until close() — or until the object is garbage
 * collected while not reading; the kernel removes the interface when it closes.
 *
 * Configuration is done from C++ (ioctl and rtnetlink), never by running `ip`. Methods throw
 * TunError for system failures, TypeError (`ERR_INVALID_ARG_TYPE`) for wrong argument types
 * and RangeError (`ERR_OUT_OF_RANGE`) for slots or counts that do not fit the buffers.
 * Every method except close(), stopReading(), stats() and the getters throws ETUN after close().
 */
export declare class Tun {
  /** Creates the interface (down, no addresses). Throws TunError. */
  constructor(options?: TunOptions);

  /** The interface name, as the kernel assigned it. */
  readonly name: string;
  /** The kernel's interface index. */
  readonly ifindex: number;
  /** True after close(). */
  readonly closed: boolean;

  /** Sets the MTU (SIOCSIFMTU). Out of the kernel's range (68..65535) is EINVAL. */
  setMtu(mtu: number): void;
  /** Reads the MTU back from the kernel. */
  getMtu(): number;
  /** Sets IFF_UP. */
  up(): void;
  /** Clears IFF_UP. */
  down(): void;
  /** Whether IFF_UP is set, read from the kernel. */
  isUp(): boolean;

  /**
   * Adds an address with its prefix length, e.g. `100.64.0.1/24` or `fd00:6f76::1/64`
   * (rtnetlink RTM_NEWADDR; the on-link prefix route comes with it). IPv6 addresses skip
   * duplicate address detection so they are usable at once. The kernel drops IPv6 addresses
   * when the link goes down or its MTU falls below 1280, so add them after up() and setMtu().
   * Malformed input is EINVAL; an address already present is ETUN with errno EEXIST.
   */
  addAddress(cidr: string): void;
  /** Removes an address added with addAddress (rtnetlink RTM_DELADDR). */
  removeAddress(cidr: string): void;

  /**
   * Gives destinations in `prefix` (e.g. `100.64.1.2/32`, `fd00::1/128`) a path MTU smaller than
   * the interface's: a peer reached through a relay, whose envelope adds 44 bytes, gets one so
   * its full-size packets are not fragmented on the underlay. Installs or replaces a main-table
   * route out this device with that MTU metric (rtnetlink RTM_NEWROUTE; more specific than the
   * on-link prefix route, which stays). `null` removes it again; removing one that is not there
   * is not an error. The kernel flushes the route when the link goes down, so set it after up().
   * A malformed prefix, one with bits set past its length, or an MTU outside 576..65535 (IPv4)
   * or 1280..65535 (IPv6) is EINVAL; an `mtu` that is neither a number nor null a TypeError.
   */
  setRouteMtu(prefix: string, mtu: number | null): void;

  /**
   * Reads up to `maxPackets` waiting packets (default: as many slots as `buf` and `lens` hold)
   * without blocking; packet i goes to `buf[i * slotSize ...]`, its length to `lens[i]`.
   * Returns the count, 0 when nothing is waiting. A packet longer than `slotSize` is truncated,
   * so make slots at least MTU bytes.
   */
  readBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, maxPackets?: number): number;

  /**
   * Writes packets 0..count-1, laid out as for readBatch, into the host's network stack.
   * Returns how many were consumed: fewer than `count` only if the kernel would block, or if a
   * later packet failed (that error is thrown by the next call, which starts with it). Packets
   * the kernel refuses as malformed are consumed and counted in stats().txRejected.
   */
  writeBatch(buf: Uint8Array, lens: Uint32Array, slotSize: number, count: number): number;

  /**
   * Calls `callback` from the event loop whenever packets are waiting (level-triggered epoll on
   * the nonblocking fd; no polling, so an idle device costs no CPU). The callback should
   * readBatch until a batch comes back short; whatever it leaves is announced again on the next
   * loop turn. A second call replaces the callback. If the watch itself fails, the callback
   * gets the error and reading stops. While reading, the process stays alive (see unref()) and
   * the Tun is not garbage collected.
   */
  onReadable(callback: (error?: TunError) => void): void;
  /** Stops calling the onReadable callback; the process no longer stays alive for this Tun. */
  stopReading(): void;
  /** While reading, keep the process alive (the default). */
  ref(): this;
  /** While reading, do not keep the process alive on this Tun's account. */
  unref(): this;

  /** Counters of what this Tun has read and written. */
  stats(): TunStats;

  /** Stops reading and closes the device, which removes the interface. Idempotent. */
  close(): void;
}

// ---- The data path ------------------------------------------------------------------------------

/** Options of a DataPath. Timings exist for tests; leave them out to get WireGuard's. */
export interface DataPathOptions {
  /** UDP port to listen on, IPv4 and IPv6 (0 or absent: the kernel picks one; see `port`). */
  port?: number;
  /** The TUN device's MTU: the largest inner packet (576..9000, default 1420). */
  mtu?: number;
  /**
   * The TUN device's transmit queue length, set when the data path starts (SIOCSIFTXQLEN): how
   * many packets the kernel holds for the send thread before it drops them (counted in
   * `tunDeviceDropped`). Default 2000, four times the kernel's 500, which overflowed under one TCP
   * stream; 0 leaves the device's as it is. 0..1000000.
   */
  tunQueueLength?: number;
  /**
   * TUN offloads (default true): the device hands the data path TCP super-packets of up to 64 KB
   * and leaves checksums to it (TUNSETOFFLOAD TSO4/TSO6/CSUM), which it splits into MTU-sized
   * segments before sealing; received in-order TCP segments of a flow are written to the device
   * as one super-packet (GRO). Either way the wire carries the same MTU-sized datagrams. False,
   * or a kernel that refuses (counted in `tunOffloadRefused`): one packet per read and write.
   */
  offload?: boolean;
  /**
   * This node's own overlay addresses ("100.64.0.1/32", "fd00::1/128"). When given, a decrypted
   * packet that is not forwarded to another peer is written to the TUN only if addressed to one of
   * them, else dropped and counted (`rxDestinationDenied`): a peer reaches this host's addresses in
   * this network and nothing else, even where the kernel would accept or route more (another
   * network's addresses on a host in several: issue 14). Absent: every destination is delivered.
   */
  addresses?: string[];
  rekeyAfterTimeMs?: number;
  rejectAfterTimeMs?: number;
  keepaliveTimeoutMs?: number;
  rekeyTimeoutMs?: number;
  /**
   * Sealed overlay messages per second each peer may send up to JavaScript (default 1000, burst
   * as many), and what all strangers together may (unknown keys, join queries, STUN answers;
   * default 256). Over budget is dropped and counted.
   */
  sealedPerPeerPerSecond?: number;
  /** The same, for a peer's key claimed from an address other than its endpoint (default 100). */
  sealedElsewherePerSecond?: number;
  strangersPerSecond?: number;
}

/** What the data path hands up to JavaScript; transport data never comes this way. */
export type DataPathEvent =
  /**
   * A datagram that is not a transport message: a handshake message, or overlay's own. `from` is
   * the UDP source. When it came in a relay envelope, `via` is the relay member's peer id and
   * `peer` the member the envelope names as its original sender (`from` is then the relay's).
   * `at`: when the data path received it, in ms on CLOCK_MONOTONIC (the clock of
   * `process.hrtime`), so a round trip can be timed without the event loop's delay in it.
   */
  | { type: 'control'; data: Buffer; from: string; via?: number; peer?: number; socket?: number; at?: number }
  /**
   * A STUN message (RFC 8489 §5: an answer to a query sent from this port), told apart from a
   * handshake initiation by its magic cookie here so JavaScript need not parse it to know. Never
   * one that came through a relay (that is junk).
   */
  | { type: 'stun'; data: Buffer; from: string }
  /** Packets for this peer wait with no usable session (or its session is due for a rekey). */
  | { type: 'handshake-needed'; peer: number }
  /** A responder's session received its first packet and now sends (whitepaper §5.4.5). */
  | { type: 'session-confirmed'; peer: number; localIndex: number }
  /** An authenticated packet came from a new address (roaming). */
  | { type: 'endpoint-changed'; peer: number; endpoint: string; socket?: number }
  /** Transport moved (sent, authenticated, or staged packets sent) since watchTraffic() armed the watch. */
  | { type: 'traffic' };

export interface DataPathSession {
  localIndex: number;
  remoteIndex: number;
  sendKey: Uint8Array;
  receiveKey: Uint8Array;
  /** True if we sent the initiation: the session sends at once; else it waits for a packet. */
  initiator: boolean;
}

export interface DataPathPeerStats {
  rxBytes: number;
  rxPackets: number;
  txBytes: number;
  txPackets: number;
  /** Milliseconds since the last authenticated packet (null: never); `Data` ones exclude keepalives. */
  lastRxAgeMs: number | null;
  lastRxDataAgeMs: number | null;
  lastTxAgeMs: number | null;
  lastTxDataAgeMs: number | null;
  endpoint: string | null;
  currentIndex: number | null;
  previousIndex: number | null;
  nextIndex: number | null;
  currentAgeMs: number | null;
  /** Packets waiting for a session. */
  staged: number;
  /** The relay member this peer's datagrams go through (setPeerPath), null when direct. */
  relayVia: number | null;
  /** Whether a relay key is installed for this peer (setRelayKey). */
  relayKey: boolean;
}

/**
 * The tags of a relay pair, 8 bytes each. `remote` names `peer` in envelopes this node receives
 * and sends, including as the destination or original sender of envelopes that pass through a
 * third member, so it must be the same on every node: derive it network-wide from the member's
 * identity (e.g. the first 8 bytes of a hash of its public key). `local` names this node to
 * `peer`, i.e. it is `peer`'s `remote` tag for this node. The two must differ.
 */
export interface DataPathRelayTags {
  local: Uint8Array;
  remote: Uint8Array;
}

/** Where a peer's datagrams go: straight to an endpoint, or through relay member `relay`. */
export type DataPathPeerPath = { direct: string } | { relay: number };

/** Limits of setHandshakeScreen; the defaults suit a node, tests lower them. */
export interface HandshakeScreenOptions {
  /** Under load after more than this many mac1-valid handshake messages in a second (default 64). */
  underLoadPerSecond?: number;
  /** Cookie replies per second, from all sources together (default 2048). */
  cookiesPerSecond?: number;
  /** Handshake messages with a valid mac2 per second per source address (default 10, burst 20). */
  perSourcePerSecond?: number;
  perSourceBurst?: number;
}

/**
 * WireGuard's transport on two native threads: TUN → encrypt → UDP and UDP → decrypt → TUN, with
 * no packet passing through JavaScript. JavaScript configures peers (allowed IPs: cryptokey
 * routing), endpoints and sessions, sends handshake messages with sendControl(), and receives
 * events. The TUN must not be read from JavaScript while a DataPath uses it.
 * Endpoints are text: "192.0.2.1:51820" or "[fd00::1]:51820".
 */
export declare class DataPath {
  /** The names stats() reports, in its order (engine_counters.h): readable without a data path. */
  static readonly counterNames: readonly (keyof DataPathStats)[];

  /**
   * Binds the UDP port and starts both threads. A port another socket holds is `EADDRINUSE`;
   * whatever the failure, everything made so far (socket, descriptors, the events callback) is
   * released before the error is thrown, so the process can go on or exit.
   */
  constructor(tun: Tun, options: DataPathOptions, onEvents: (events: DataPathEvent[]) => void);
  readonly port: number;
  /**
   * Adds or replaces a peer's allowed IPs (CIDR text), and optionally its endpoint. With
   * `forward`, packets from this peer to another peer (or from another peer to it) are forwarded
   * by the data path itself, hop limit decremented: how a member carries a plain WireGuard device
   * it hosts to the rest of the mesh, without turning on the host's IP forwarding. `publicKey`
   * (the peer's 32-byte WireGuard key) lets its sealed messages be told from a stranger's, each
   * peer with its own budget.
   */
  setPeer(
    peer: number,
    allowedIps: string[],
    endpoint?: string | null,
    options?: { forward?: boolean; publicKey?: Uint8Array },
  ): void;
  /**
   * From now on, a sealed overlay message (0x80) must end in the mac1 made with this 32-byte key
   * (core/overlayWire/sealed.ts: a hash of this node's public key), or it is dropped and counted
   * before it reaches JavaScript. Set once; later calls are ignored.
   */
  setSealedScreen(key: Uint8Array): void;
  /**
   * From now on the receive thread checks the mac1 of WireGuard initiations and responses
   * (`mac1Key` = HASH("mac1----" ‖ our public key)), and under load answers those without a valid
   * mac2 with cookie replies (`cookieKey` = HASH("cookie--" ‖ our public key)) and charges those
   * with one to their source address (whitepaper §5.3). Before JavaScript sees any. Set once.
   */
  setHandshakeScreen(mac1Key: Uint8Array, cookieKey: Uint8Array, options?: HandshakeScreenOptions): void;
  setEndpoint(peer: number, endpoint: string): void;
  removePeer(peer: number): void;
  /** Copies the keys in; the caller should erase its own copies. */
  installSession(peer: number, session: DataPathSession): void;
  removeSession(localIndex: number): void;
  clearSessions(peer: number): void;
  /**
   * Sends `data` to `endpoint`: from extra socket `socket` when given (0: the main one; RangeError
   * when it is not open), else from the socket bound to `endpoint` (bindSocket), else the main one.
   * Returns when it was sent: ms on CLOCK_MONOTONIC (process.hrtime's clock), taken just before.
   * `ttl` (1..255) sets this datagram's IP TTL (hop limit) alone: a discovery opener (issue 13).
   */
  sendControl(data: Uint8Array, endpoint: string, socket?: number, ttl?: number): number;
  /**
   * Extra UDP sockets beside the main one (issue 13: birthday probing), on ports the kernel picks:
   * `{ socket, port }`, or null when all 320 are open. What arrives on one is handled as on the
   * main socket, and a peer whose authenticated transport arrives there is sent its datagrams from
   * there (its endpoint names the socket); `control` events say which socket they came in on.
   */
  openSocket(): { socket: number; port: number } | null;
  closeSocket(socket: number): void;
  /**
   * What goes to `endpoint` without naming a socket (handshakes, a peer whose endpoint or direct
   * path is set there) leaves from extra socket `socket` from now on; 0 unbinds.
   */
  bindSocket(endpoint: string, socket: number): void;
  /** The extra sockets open, and the datagrams each received and sent. */
  socketStats(): { socket: number; port: number; rxPackets: number; txPackets: number }[];
  /**
   * Sends `data` (a handshake or discovery message) along `peer`'s path: to its endpoint, or in a
   * relay envelope through its relay. False when the peer is unknown or has no usable path;
   * throws a system error when the socket refuses it. At most 65463 bytes.
   */
  sendControlToPeer(data: Uint8Array, peer: number): boolean;
  /**
   * Sends `data` in a relay envelope to `peer` through member `relay`, whatever `peer`'s own path:
   * a probe of that relay route over the envelopes that would carry its traffic. False when
   * either has no relay key, the relay has no endpoint, or they are the same peer.
   */
  sendControlVia(data: Uint8Array, peer: number, relay: number): boolean;
  /** Sends an empty transport message on the current session (along its path); false if there is none. */
  sendKeepalive(peer: number): boolean;
  /**
   * This data path's relay epoch: 16 random bytes drawn when it was made, so every data path
   * (every start of a node, after a crash too) has its own. Its relay keys are derived with it;
   * members learn it from the node's signed endpoint record.
   */
  readonly relayEpoch: Uint8Array;
  /**
   * Installs the relay key this node shares with member `peer`, derived from the 32-byte pair
   * `secret`, this data path's relayEpoch and the member's `remoteEpoch` (16 bytes), with the
   * pair's tags; the secret is not kept (erase your copy), the key is wiped here when replaced or
   * removed. Installing what gives the key already held keeps its replay window; another epoch
   * gives a new key with a new window.
   *
   * A relayed path needs keys on all three: the sender with the relay and with the destination
   * (for its tag), the relay with both, the destination with the relay and with the sender.
   *
   * Key: HMAC-SHA256(secret, "overlay relay key v1" || epoch_lo || epoch_hi); key id: the first
   * two bytes (u16 LE) of HMAC-SHA256(secret, "overlay relay key id v1" || epoch_lo || epoch_hi);
   * epoch_lo is the epoch of the member whose tag, read as u64 LE, is lower.
   * Envelope: `[0x84][flags: 0 to relay, 1 from relay][key id: u16 LE][MAC tag: 8][other tag: 8]
   * [counter: u64 LE][MAC: 16][WireGuard datagram]`. The MAC tag names the member that MACed it
   * (sender to the relay, relay to the destination); the other tag names the destination (to
   * relay) or the original sender (from relay). MAC: ChaCha20-Poly1305 of an empty plaintext, the
   * first 28 bytes and the datagram as associated data, nonce = direction u32 LE (0 from the
   * member whose tag is lower; 1 from the other) || counter u64 LE. The counter is one per data
   * path, taken by every envelope it sends, so no nonce repeats under any key. Receivers keep a
   * replay window per key, and drop envelopes under another key id (relayDroppedStaleKey).
   * Throws TypeError (`ERR_INVALID_ARG_TYPE`) for a secret, tag or epoch of the wrong type or
   * size, and RangeError (`ERR_OUT_OF_RANGE`) for an unknown peer, equal tags or a `remote` tag
   * another peer has.
   */
  setRelayKey(peer: number, secret: Uint8Array, tags: DataPathRelayTags, remoteEpoch: Uint8Array): void;
  /** Removes and wipes `peer`'s relay key; its envelopes are then dropped as unknown tags. */
  removeRelayKey(peer: number): void;
  /**
   * Where `peer`'s datagrams go. `{ direct }`: to that endpoint (it becomes the peer's endpoint,
   * as setEndpoint). `{ relay }`: wrapped in envelopes to member `relay`, at the relay's endpoint;
   * the peer's own endpoint is kept, and transport from the peer that arrives inside envelopes
   * does not move it (only direct authenticated packets roam). One hop only: a relay forwards to
   * its members' endpoints, never along their paths. RangeError for an unknown peer or relay, or
   * a peer as its own relay.
   */
  setPeerPath(peer: number, path: DataPathPeerPath): void;
  /**
   * Whether this node forwards envelopes for others (off by default): only from a member with a
   * relay key to another member with one, at most `bytesPerSecondPerSender` from each sender
   * (each envelope charged its length and 64 bytes for the headers under it; a token bucket
   * holding one second's worth; 1..4294967295, or 0 when turning the service off).
   */
  setRelayService(enabled: boolean, bytesPerSecondPerSender: number): void;
  peerStats(peer: number): DataPathPeerStats | null;
  stats(): DataPathStats;
  /**
   * Arms a one-shot watch: the next transport datagram either data-path thread sends or
   * authenticates, or a staged packet sent, hands up one `traffic` event, and the watch is off
   * again. So JavaScript need read peerStats only while traffic moves.
   */
  watchTraffic(): void;
  ref(): void;
  unref(): void;
  /** Stops both threads and closes the socket and this DataPath's TUN handle. Idempotent. */
  close(): void;
}

/**
 * Takes an exclusive flock(2) on `fd` without waiting: true when taken (or already held through
 * this open file description), false when another open file description holds it. The kernel
 * releases it when the descriptor is closed or its process dies, kill -9 included. Other
 * failures (a bad descriptor) throw an Error with code `ELOCK`, `errno` and `syscall`.
 */
export declare function tryLockFile(fd: number): boolean;

/** Pieces of the data path for property tests; core/ does not use these. */
export declare const testing: {
  ReplayWindow: new () => { check(counter: bigint): boolean; accept(counter: bigint): boolean };
  AllowedIps: new () => {
    insert(prefix: string, peer: number): void;
    removePeer(peer: number): void;
    lookup(address: Uint8Array): number;
  };
  seal(key: Uint8Array, counter: bigint, plaintext: Uint8Array): Buffer;
  open(key: Uint8Array, counter: bigint, sealed: Uint8Array): Buffer | null;
  replayWindowBits: number;
  /**
   * What the send thread makes of one TUN read (a 10-byte virtio-net header and the packet): its
   * segments of at most `mtu` bytes, or null when it would be dropped (src/datapath/tso.h).
   */
  tsoSplit(read: Uint8Array, mtu: number): Buffer[] | null;
  /**
   * What the receive thread writes to the TUN for a batch of decrypted packets, in order: each
   * write's virtio-net header and the bytes behind it (src/datapath/gro.h).
   */
  groCoalesce(packets: Uint8Array[]): Buffer[];
};
