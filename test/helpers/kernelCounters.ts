/**
 * The kernel's own counts inside a test's namespace, for tests that account for every datagram:
 * what an interface passed or dropped (`ip -s link`), and the UDP datagrams the kernel dropped
 * before any socket read them (/proc/net/snmp, per namespace).
 */
import type { Netns } from './netns.js';

export interface LinkCounters {
  rxPackets: number;
  txPackets: number;
  rxDropped: number;
  txDropped: number;
}

export function linkCounters(ns: Netns, ifname: string): LinkCounters {
  const [link] = JSON.parse(ns.ip('-s', '-j', 'link', 'show', 'dev', ifname)) as {
    stats64: { rx: { packets: number; dropped: number }; tx: { packets: number; dropped: number } };
  }[];
  const s = link!.stats64;
  return {
    rxPackets: s.rx.packets,
    txPackets: s.tx.packets,
    rxDropped: s.rx.dropped,
    txDropped: s.tx.dropped,
  };
}

/**
 * UDP datagrams the namespace's kernel dropped on receipt: InErrors covers a full socket buffer
 * (RcvbufErrors, counted in both) and bad checksums.
 */
export function udpInErrors(ns: Netns): number {
  const lines = ns
    .exec('cat', ['/proc/net/snmp'])
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InErrors')]);
}
