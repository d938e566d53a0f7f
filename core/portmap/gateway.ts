/**
 * The default gateway: the router port mapping talks to. Linux's /proc/net/route lists IPv4 routes
 * with hex fields in host byte order (little-endian here); the default route has destination and
 * mask 0 and the RTF_GATEWAY flag (0x2). Pure parsing, for tests; reading the file is the caller's.
 */
import { formatIPv4 } from '../base/ip.js';

const RTF_UP = 0x1;
const RTF_GATEWAY = 0x2;

export interface DefaultRoute {
  readonly iface: string;
  readonly gateway: string;
}

/** The default route with the lowest metric, or undefined when there is none (or the text is junk). */
export function parseDefaultRoute(text: string): DefaultRoute | undefined {
  let best: (DefaultRoute & { metric: number }) | undefined;
  for (const line of text.split('\n').slice(1, 1025)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const [iface, dest, gw, flags, , , metric, mask] = f as [
      string,
      string,
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    if (dest !== '00000000' || mask !== '00000000' || !/^[0-9A-Fa-f]{8}$/.test(gw)) continue;
    const fl = Number.parseInt(flags, 16);
    if (!(fl & RTF_UP) || !(fl & RTF_GATEWAY)) continue;
    const n = Number.parseInt(gw, 16);
    // Host byte order on a little-endian machine: the first octet is the lowest byte.
    const gateway = formatIPv4(Uint8Array.of(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24));
    const m = Number(metric);
    if (!best || m < best.metric) best = { iface, gateway, metric: m };
  }
  return best && { iface: best.iface, gateway: best.gateway };
}
