/**
 * How many datagrams the kernel dropped for a UDP socket because its receive queue was full: the
 * last column of /proc/net/udp (and udp6), whose sockets are this network namespace's. The queue
 * in front of the resolver is bounded (server.ts); this is what a flood spilled past it.
 *
 * /proc/net/udp prints addresses as the kernel holds them, in host byte order 32 bits at a time:
 * 100.80.0.1 on a little-endian machine is 01005064; the port is plain hex.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { parseIP } from '../base/ip.js';

/** The drop count of the socket bound to address:port, or undefined when none is listed. */
export function kernelDrops(address: string, port: number, table?: string): number | undefined {
  const bytes = parseIP(address);
  if (!bytes) return undefined;
  let text = table;
  if (text === undefined) {
    try {
      text = readFileSync(bytes.length === 4 ? '/proc/self/net/udp' : '/proc/self/net/udp6', 'utf8');
    } catch {
      return undefined;
    }
  }
  const local = `${procAddress(bytes)}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  for (const line of text.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields[1] === local) return Number(fields.at(-1));
  }
  return undefined;
}

function procAddress(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 4) {
    const word = bytes.subarray(i, i + 4);
    const ordered = endianness() === 'LE' ? [...word].reverse() : [...word];
    out += ordered.map((b) => b.toString(16).toUpperCase().padStart(2, '0')).join('');
  }
  return out;
}
