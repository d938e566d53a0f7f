import os from 'node:os';
import type { Endpoint } from '../base/endpoint.js';
import { formatIP, parseIP } from '../base/ip.js';

/**
 * The addresses this machine can be reached at on its own interfaces, with the node's port: the
 * candidates a member announces besides the ones the user gives with --endpoint (DESIGN.md
 * "NAT traversal"). Loopback, link-local and the overlay's own addresses are left out: a peer
 * can never reach us there.
 */
export function localEndpoints(
  port: number,
  options: {
    exclude?: (address: string) => boolean;
    interfaces?: NodeJS.Dict<os.NetworkInterfaceInfo[]>;
  } = {},
): Endpoint[] {
  const found: Endpoint[] = [];
  const interfaces = options.interfaces ?? os.networkInterfaces();
  for (const addrs of Object.values(interfaces)) {
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      if (a.family === 'IPv4' && a.address.startsWith('169.254.')) continue;
      if (options.exclude?.(a.address)) continue;
      // An Endpoint's address is canonical text: one the OS spells otherwise (a zone, upper case) is left out.
      const bytes = parseIP(a.address);
      if (bytes === undefined || formatIP(bytes) !== a.address) continue;
      found.push({ address: a.address, port });
    }
  }
  // IPv4 first: most peers can reach IPv4, and invite codes have room for few endpoints.
  return found.sort((x, y) => Number(x.address.includes(':')) - Number(y.address.includes(':')));
}
