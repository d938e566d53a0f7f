/**
 * The overlay interface's MTU, in one place: the node's TUN device, its data path, and the
 * wg-quick config it writes for a plain WireGuard device all use it. 1420 is WireGuard's
 * default: 1500 less 80 bytes of IPv6, UDP and WireGuard headers.
 */
export const TUN_MTU = 1420;

/**
 * The path MTU to a relayed member: a relay envelope adds 44 bytes to the 32 of WireGuard, and
 * with 48 of IPv6 and UDP under them a 1500-byte underlay leaves 1376 (a multiple of 16, so
 * WireGuard's padding adds nothing). Full 1420-byte packets would be fragmented on the way.
 */
export const RELAYED_MTU = 1376;
