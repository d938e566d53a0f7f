/**
 * WireGuard handshake, cookies and timers as I/O-free state machines (whitepaper §5, §6).
 * A node creates one Device, adds peers, feeds it datagrams, outgoing packets and the time, and
 * performs what each Output asks; see Device for the entry points.
 */
export { DEFAULT_TIMINGS, type Timings, timingsWith } from './constants.js';
export { Device, type DeviceOptions } from './device.js';
export { Session } from './keypair.js';
export type { DropReason } from './messages.js';
export type { Output, Peer, PeerConfig, SessionChange } from './peer.js';
export { generateKeyPair, type KeyPair, publicKeyOf } from './primitives.js';
