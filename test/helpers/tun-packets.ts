/**
 * IPv4/IPv6 + UDP packets as raw bytes, to craft what a test writes into a TUN and to check
 * what it reads out. Checksums per RFC 791 (IPv4 header), RFC 768 and RFC 8200 §8.1 (UDP over
 * IPv6, where the checksum is mandatory).
 */

export interface UdpPacketSpec {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Uint8Array;
  /** IPv4 TTL or IPv6 hop limit. */
  ttl?: number;
}

export interface ParsedUdpPacket {
  version: 4 | 6;
  protocol: number;
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  payload: Buffer;
  /** IPv4 header checksum verifies (always true for IPv6, which has none). */
  ipChecksumOk: boolean;
  udpChecksumOk: boolean;
  /** Total length claimed by the IP header matches the bytes read. */
  lengthOk: boolean;
}

export const IPPROTO_UDP = 17;

/** An address as 4 or 16 bytes. Accepts dotted IPv4 and IPv6 with at most one "::". */
export function ipBytes(address: string): Buffer {
  if (address.includes(':')) return ipv6Bytes(address);
  const parts = address.split('.').map((p) => Number(p));
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${address}`);
  }
  return Buffer.from(parts);
}

function ipv6Bytes(address: string): Buffer {
  const halves = address.split('::');
  if (halves.length > 2) throw new Error(`not an IPv6 address: ${address}`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0)
    throw new Error(`not an IPv6 address: ${address}`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`not an IPv6 address: ${address}`);
    out.writeUInt16BE(Number.parseInt(g, 16), i * 2);
  });
  return out;
}

/** Text form of 4 or 16 address bytes (IPv6 uncompressed, lower case: compare via ipBytes). */
export function ipText(bytes: Uint8Array): string {
  const b = Buffer.from(bytes);
  if (b.length === 4) return [...b].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i).toString(16));
  return groups.join(':');
}

/** Ones' complement sum of `parts`, folded, not yet inverted. */
function onesSum(parts: Uint8Array[]): number {
  let sum = 0;
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 2) {
      sum += ((part[i] ?? 0) << 8) | (part[i + 1] ?? 0);
    }
    // fold as we go so the sum never loses bits, whatever the packet size
    sum = (sum & 0xffff) + (sum >>> 16);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function udpChecksum(src: Buffer, dst: Buffer, udp: Buffer): number {
  const sum = ~onesSum([pseudoFor(src, dst, udp.length), udp]) & 0xffff;
  return sum === 0 ? 0xffff : sum; // RFC 768: a computed 0 is sent as all ones
}

/** A complete IPv4 or IPv6 UDP packet (family from the addresses) with correct checksums. */
export function buildUdpPacket(spec: UdpPacketSpec): Buffer {
  const src = ipBytes(spec.src);
  const dst = ipBytes(spec.dst);
  if (src.length !== dst.length) throw new Error('source and destination families differ');
  const udp = Buffer.alloc(8 + spec.payload.length);
  udp.writeUInt16BE(spec.srcPort, 0);
  udp.writeUInt16BE(spec.dstPort, 2);
  udp.writeUInt16BE(udp.length, 4);
  Buffer.from(spec.payload).copy(udp, 8);
  udp.writeUInt16BE(udpChecksum(src, dst, udp), 6);

  const ttl = spec.ttl ?? 64;
  if (src.length === 4) {
    const ip = Buffer.alloc(20);
    ip[0] = 0x45;
    ip.writeUInt16BE(20 + udp.length, 2);
    ip.writeUInt16BE(0x4000, 6); // DF
    ip[8] = ttl;
    ip[9] = IPPROTO_UDP;
    src.copy(ip, 12);
    dst.copy(ip, 16);
    ip.writeUInt16BE(~onesSum([ip]) & 0xffff, 10);
    return Buffer.concat([ip, udp]);
  }
  const ip = Buffer.alloc(40);
  ip.writeUInt32BE(0x60000000, 0);
  ip.writeUInt16BE(udp.length, 4);
  ip[6] = IPPROTO_UDP;
  ip[7] = ttl;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  return Buffer.concat([ip, udp]);
}

/** Parses an IPv4 (no options needed, but honoured) or IPv6 (no extension headers) UDP packet. */
export function parseUdpPacket(bytes: Uint8Array): ParsedUdpPacket | undefined {
  const p = Buffer.from(bytes);
  const version = (p[0] ?? 0) >> 4;
  if (version === 4 && p.length >= 20) {
    const ihl = ((p[0] ?? 0) & 0x0f) * 4;
    const src = p.subarray(12, 16);
    const dst = p.subarray(16, 20);
    const udp = p.subarray(ihl);
    const base = {
      version: 4 as const,
      protocol: p[9] ?? 0,
      src: ipText(src),
      dst: ipText(dst),
      ipChecksumOk: onesSum([p.subarray(0, ihl)]) === 0xffff,
      lengthOk: p.readUInt16BE(2) === p.length,
    };
    return { ...base, ...udpFields(src, dst, udp) };
  }
  if (version === 6 && p.length >= 40) {
    const src = p.subarray(8, 24);
    const dst = p.subarray(24, 40);
    const udp = p.subarray(40);
    const base = {
      version: 6 as const,
      protocol: p[6] ?? 0,
      src: ipText(src),
      dst: ipText(dst),
      ipChecksumOk: true,
      lengthOk: p.readUInt16BE(4) + 40 === p.length,
    };
    return { ...base, ...udpFields(src, dst, udp) };
  }
  return undefined;
}

function udpFields(src: Buffer, dst: Buffer, udp: Buffer) {
  if (udp.length < 8) {
    return { srcPort: 0, dstPort: 0, payload: Buffer.alloc(0), udpChecksumOk: false };
  }
  const stored = udp.readUInt16BE(6);
  // Verifying: the sum over pseudo header and segment, checksum included, is all ones.
  const verifies = onesSum([pseudoFor(src, dst, udp.length), udp]) === 0xffff;
  return {
    srcPort: udp.readUInt16BE(0),
    dstPort: udp.readUInt16BE(2),
    payload: Buffer.from(udp.subarray(8, udp.readUInt16BE(4))),
    udpChecksumOk: stored !== 0 && verifies,
  };
}

/** The pseudo header both checksums cover; its length (12 or 40) is even, so parts sum apart. */
function pseudoFor(src: Buffer, dst: Buffer, udpLength: number): Buffer {
  const pseudo = Buffer.alloc(src.length === 4 ? 12 : 40);
  src.copy(pseudo, 0);
  if (src.length === 4) {
    dst.copy(pseudo, 4);
    pseudo[9] = IPPROTO_UDP;
    pseudo.writeUInt16BE(udpLength, 10);
  } else {
    dst.copy(pseudo, 16);
    pseudo.writeUInt32BE(udpLength, 32);
    pseudo[39] = IPPROTO_UDP;
  }
  return pseudo;
}
