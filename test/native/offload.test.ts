/**
 * The TUN offloads' pure halves (native/src/datapath/tso.h and gro.h) against a model written
 * here from the rules in those files' headers, byte for byte: how the send thread splits a TCP
 * super-packet read from the TUN, and what the receive thread writes for a batch of decrypted
 * packets. No root: the functions run through the addon's testing hooks.
 */
import test from 'ava';
import fc from 'fast-check';
import { testing } from 'tun-napi';

const VNET = 10;
const NEEDS_CSUM = 1;
const GSO_TCPV4 = 1;
const GSO_TCPV6 = 4;
const ACK = 0x10;
const PSH = 0x08;
const FIN = 0x01;
const CWR = 0x80;
const ECE = 0x40;

/** RFC 1071, the plain way: 16-bit big-endian words, carries folded in. */
function sum16(bytes: Uint8Array, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < bytes.length; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (bytes.length % 2) sum += bytes[bytes.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return sum;
}

function pseudo(v6: boolean, packet: Uint8Array, tcpLength: number): number {
  const addrs = v6 ? packet.subarray(8, 40) : packet.subarray(12, 20);
  return sum16(addrs, 6 + tcpLength);
}

const ipLen = (p: Uint8Array) => (p[0]! >> 4 === 6 ? 40 : (p[0]! & 0x0f) * 4);
const tcpLen = (p: Uint8Array) => (p[ipLen(p) + 12]! >> 4) * 4;
const be16 = (p: Uint8Array, at: number) => (p[at]! << 8) | p[at + 1]!;
const be32 = (p: Uint8Array, at: number) =>
  ((p[at]! << 24) | (p[at + 1]! << 16) | (p[at + 2]! << 8) | p[at + 3]!) >>> 0;
function put16(p: Uint8Array, at: number, v: number): void {
  p[at] = (v >> 8) & 0xff;
  p[at + 1] = v & 0xff;
}
function put32(p: Uint8Array, at: number, v: number): void {
  for (let i = 0; i < 4; i++) p[at + i] = (v >>> (24 - 8 * i)) & 0xff;
}

/** Sets the lengths, the IPv4 header checksum and a complete (or partial) TCP checksum. */
function seal(p: Uint8Array, tcpChecksum: 'full' | 'partial'): Uint8Array {
  const v6 = p[0]! >> 4 === 6;
  const ip = ipLen(p);
  if (v6) put16(p, 4, p.length - 40);
  else {
    put16(p, 2, p.length);
    put16(p, 10, 0);
    put16(p, 10, ~sum16(p.subarray(0, ip)) & 0xffff);
  }
  put16(p, ip + 16, 0);
  const partial = pseudo(v6, p, p.length - ip);
  put16(p, ip + 16, tcpChecksum === 'partial' ? partial : ~sum16(p.subarray(ip), partial) & 0xffff);
  return p;
}

interface Flow {
  v6: boolean;
  src: number[];
  dst: number[];
  ports: [number, number];
  ack: number;
  window: number;
  options: number[];
  tos: number;
  ttl: number;
  df: boolean;
}

const flowArb: fc.Arbitrary<Flow> = fc.record({
  v6: fc.boolean(),
  src: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
  dst: fc.array(fc.nat(255), { minLength: 16, maxLength: 16 }),
  ports: fc.tuple(fc.nat(65535), fc.nat(65535)),
  ack: fc.nat(0xffffffff),
  window: fc.nat(65535),
  options: fc.nat(10).chain((words) => fc.array(fc.nat(255), { minLength: words * 4, maxLength: words * 4 })),
  tos: fc.nat(255),
  ttl: fc.integer({ min: 1, max: 255 }),
  df: fc.boolean(),
});

/** A TCP packet of `flow` with these fields; checksums as asked. */
function tcpPacket(
  f: Flow,
  seq: number,
  flags: number,
  payload: Uint8Array,
  id: number,
  tcpChecksum: 'full' | 'partial' = 'full',
): Uint8Array {
  const ip = f.v6 ? 40 : 20;
  const tcp = 20 + f.options.length;
  const p = new Uint8Array(ip + tcp + payload.length);
  if (f.v6) {
    p[0] = 0x60 | (f.tos >> 4);
    p[1] = (f.tos & 0x0f) << 4;
    p[6] = 6;
    p[7] = f.ttl;
    p.set(f.src, 8);
    p.set(f.dst, 24);
  } else {
    p[0] = 0x45;
    p[1] = f.tos;
    put16(p, 4, id);
    p[6] = f.df ? 0x40 : 0;
    p[8] = f.ttl;
    p[9] = 6;
    p.set(f.src.slice(0, 4), 12);
    p.set(f.dst.slice(0, 4), 16);
  }
  put16(p, ip, f.ports[0]);
  put16(p, ip + 2, f.ports[1]);
  put32(p, ip + 4, seq);
  put32(p, ip + 8, f.ack);
  p[ip + 12] = (tcp / 4) << 4;
  p[ip + 13] = flags;
  put16(p, ip + 14, f.window);
  p.set(f.options, ip + 20);
  p.set(payload, ip + tcp);
  return seal(p, tcpChecksum);
}

function vnet(
  flags: number,
  type: number,
  hdrLen: number,
  gsoSize: number,
  csumStart: number,
  csumOffset: number,
) {
  const h = new Uint8Array(VNET);
  const le = (at: number, v: number) => {
    h[at] = v & 0xff;
    h[at + 1] = v >> 8;
  };
  h[0] = flags;
  h[1] = type;
  le(2, hdrLen);
  le(4, gsoSize);
  le(6, csumStart);
  le(8, csumOffset);
  return h;
}

const concat = (...parts: Uint8Array[]) => Buffer.concat(parts.map((p) => Buffer.from(p)));

/** The model of tso.h: segment k of a super-packet. */
function modelSegments(superPacket: Uint8Array, mss: number): Uint8Array[] {
  const v6 = superPacket[0]! >> 4 === 6;
  const ip = ipLen(superPacket);
  const hdr = ip + tcpLen(superPacket);
  const payload = superPacket.length - hdr;
  const count = Math.ceil(payload / mss);
  const out: Uint8Array[] = [];
  for (let k = 0; k < count; k++) {
    const body = superPacket.subarray(hdr + k * mss, hdr + Math.min(payload, (k + 1) * mss));
    const s = new Uint8Array(hdr + body.length);
    s.set(superPacket.subarray(0, hdr));
    s.set(body, hdr);
    if (!v6) put16(s, 4, (be16(superPacket, 4) + k) & 0xffff);
    put32(s, ip + 4, (be32(superPacket, ip + 4) + k * mss) >>> 0);
    if (k < count - 1) s[ip + 13] = s[ip + 13]! & ~(FIN | PSH);
    if (k > 0) s[ip + 13] = s[ip + 13]! & ~CWR;
    out.push(seal(s, 'full'));
  }
  return out;
}

const superArb = fc
  .record({
    flow: flowArb,
    seq: fc.nat(0xffffffff),
    id: fc.nat(65535),
    flags: fc.subarray([PSH, FIN, CWR, ECE]).map((fs) => fs.reduce((a, b) => a | b, ACK)),
    mtu: fc.integer({ min: 576, max: 9000 }),
    payload: fc.integer({ min: 1, max: 64_000 }),
    byte: fc.nat(255),
  })
  .chain((r) => {
    const hdr = (r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length;
    return fc.record({
      r: fc.constant(r),
      mss: fc.integer({ min: 1, max: r.mtu - hdr }),
    });
  })
  .map(({ r, mss }) => {
    const hdr = (r.flow.v6 ? 40 : 20) + 20 + r.flow.options.length;
    const payload = Uint8Array.from(
      { length: Math.min(r.payload, 65535 - hdr) },
      (_, i) => (i * 7 + r.byte) & 0xff,
    );
    const packet = tcpPacket(r.flow, r.seq, r.flags, payload, r.id, 'partial');
    const ip = r.flow.v6 ? 40 : 20;
    const header = vnet(NEEDS_CSUM, r.flow.v6 ? GSO_TCPV6 : GSO_TCPV4, hdr, mss, ip, 16);
    return { ...r, mss, packet, header };
  });

test('property: a TCP super-packet splits into the segments of the model, byte for byte, v4 and v6', (t) => {
  // fc.assert throws the shrunk counterexample; notThrows makes it this test's assertion.
  t.notThrows(() =>
    fc.assert(
      fc.property(superArb, ({ packet, header, mtu, mss }) => {
        const native = testing.tsoSplit(concat(header, packet), mtu);
        const model = modelSegments(packet, mss);
        return (
          native !== null &&
          native.length === model.length &&
          native.every((s, i) => s.length <= mtu && s.equals(Buffer.from(model[i]!)))
        );
      }),
      { numRuns: 300 },
    ),
  );
});

test('property: coalescing the segments of a super-packet gives the super-packet back, with its virtio-net header', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        superArb.filter((s) => (s.flags & (FIN | CWR | ECE)) === 0 && s.packet.length - s.header[2]! > s.mss),
        ({ packet, header, mtu }) => {
          const segments = testing.tsoSplit(concat(header, packet), mtu)!;
          const writes = testing.groCoalesce(segments);
          // The first segment's IPv4 ID is the original's, so the header comes back as it was.
          return writes.length === 1 && writes[0]!.equals(concat(header, packet));
        },
      ),
      { numRuns: 200 },
    ),
  );
});

/** The model of gro.h's PlanBatch and Finish, from its rules. */
function modelCoalesce(packets: Uint8Array[]): Buffer[] {
  interface Seg {
    p: Uint8Array;
    v6: boolean;
    ip: number;
    tcp: number;
    payload: number;
    seq: number;
  }
  const candidate = (p: Uint8Array): Seg | null => {
    const version = p[0]! >> 4;
    if (version === 4) {
      if (
        p.length < 40 ||
        p[0] !== 0x45 ||
        be16(p, 2) !== p.length ||
        p[9] !== 6 ||
        (be16(p, 6) & 0x3fff) !== 0
      )
        return null;
    } else if (version === 6) {
      if (p.length < 60 || be16(p, 4) + 40 !== p.length || p[6] !== 6) return null;
    } else return null;
    const ip = version === 6 ? 40 : 20;
    const tcp = (p[ip + 12]! >> 4) * 4;
    if (tcp < 20 || ip + tcp >= p.length) return null;
    if ((p[ip + 13]! & ~PSH) !== ACK) return null;
    if (sum16(p.subarray(ip), pseudo(version === 6, p, p.length - ip)) !== 0xffff) return null;
    return { p, v6: version === 6, ip, tcp, payload: p.length - ip - tcp, seq: be32(p, ip + 4) };
  };
  const sameFlow = (a: Seg, b: Seg) => {
    if (a.v6 !== b.v6 || a.tcp !== b.tcp) return false;
    const eq = (from: number, to: number, ao = 0, bo = 0) =>
      Buffer.from(a.p.subarray(ao + from, ao + to)).equals(Buffer.from(b.p.subarray(bo + from, bo + to)));
    const ipSame = a.v6 ? eq(0, 4) && eq(6, 40) : eq(0, 2) && eq(6, 10) && eq(12, 20);
    const t = a.ip;
    return (
      ipSame &&
      eq(0, 4, t, t) &&
      eq(8, 13, t, t) &&
      (a.p[t + 13]! & ~PSH) === (b.p[t + 13]! & ~PSH) &&
      eq(14, 16, t, t) &&
      eq(18, a.tcp, t, t)
    );
  };
  const groups: { members: (Seg | Uint8Array)[] }[] = [];
  for (const p of packets) {
    const s = candidate(p);
    const open = s
      ? [...groups].reverse().find((g) => {
          const f = g.members[0]!;
          return !(f instanceof Uint8Array) && sameFlow(f, s);
        })
      : undefined;
    if (s && open) {
      const f = open.members[0] as Seg;
      const l = open.members.at(-1) as Seg;
      const bytes = f.ip + f.tcp + open.members.reduce((n, m) => n + (m as Seg).payload, 0);
      if (
        !(l.p[l.ip + 13]! & PSH) &&
        l.payload === f.payload &&
        s.payload <= f.payload &&
        s.seq === (l.seq + l.payload) >>> 0 &&
        bytes + s.payload <= 65535
      ) {
        open.members.push(s);
        continue;
      }
    }
    groups.push({ members: [s ?? p] });
  }
  return groups.map(({ members }) => {
    if (members.length === 1) {
      const m = members[0]!;
      return concat(new Uint8Array(VNET), m instanceof Uint8Array ? m : m.p);
    }
    const segs = members as Seg[];
    const f = segs[0]!;
    const out = concat(f.p, ...segs.slice(1).map((s) => s.p.subarray(s.ip + s.tcp)));
    if (f.v6) put16(out, 4, out.length - 40);
    else {
      put16(out, 2, out.length);
      put16(out, 10, 0);
      put16(out, 10, ~sum16(out.subarray(0, 20)) & 0xffff);
    }
    out[f.ip + 13] = out[f.ip + 13]! | (segs.at(-1)!.p[f.ip + 13]! & PSH);
    put16(out, f.ip + 16, pseudo(f.v6, out, out.length - f.ip));
    return concat(vnet(NEEDS_CSUM, f.v6 ? GSO_TCPV6 : GSO_TCPV4, f.ip + f.tcp, f.payload, f.ip, 16), out);
  });
}

/** A batch as the receive thread might see it: a few flows' segments, disturbed, interleaved. */
const batchArb = fc
  .array(
    fc.record({
      flow: flowArb,
      seq: fc.nat(0xffffffff),
      mss: fc.integer({ min: 1, max: 1400 }),
      count: fc.integer({ min: 1, max: 12 }),
      tweaks: fc.array(
        fc.record({
          at: fc.nat(11),
          kind: fc.constantFrom('psh', 'fin', 'short', 'gap', 'badsum', 'ack-only', 'window', 'ttl'),
        }),
        { maxLength: 3 },
      ),
    }),
    { minLength: 1, maxLength: 4 },
  )
  .chain((flows) => {
    const packets = flows.map((f) => {
      let seq = f.seq;
      const out: Uint8Array[] = [];
      for (let i = 0; i < f.count; i++) {
        const tweak = f.tweaks.find((w) => w.at === i)?.kind;
        const size = tweak === 'short' ? Math.max(1, f.mss >> 1) : tweak === 'ack-only' ? 0 : f.mss;
        if (tweak === 'gap') seq = (seq + 1) >>> 0;
        const flags = ACK | (tweak === 'psh' ? PSH : 0) | (tweak === 'fin' ? FIN : 0);
        const flow = {
          ...f.flow,
          window: tweak === 'window' ? f.flow.window ^ 1 : f.flow.window,
          ttl: tweak === 'ttl' ? (f.flow.ttl % 255) + 1 : f.flow.ttl,
        };
        const p = tcpPacket(
          flow,
          seq,
          flags,
          Uint8Array.from({ length: size }, (_, j) => (i + j) & 0xff),
          i,
        );
        if (tweak === 'badsum') p[p.length - 1] = p[p.length - 1]! ^ 0x5a;
        out.push(p);
        seq = (seq + size) >>> 0;
      }
      return out;
    });
    // Interleave the flows in a random order that keeps each one's own order.
    const tags = packets.flatMap((ps, flow) => ps.map(() => flow));
    return fc.shuffledSubarray(tags, { minLength: tags.length, maxLength: tags.length }).map((order) => {
      const next = packets.map(() => 0);
      return order.map((flow) => packets[flow]![next[flow]!++]!);
    });
  });

test('property: a batch of interleaved, disturbed flows is written as the model writes it, byte for byte', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(batchArb, (batch) => {
        const native = testing.groCoalesce(batch);
        const model = modelCoalesce(batch);
        return native.length === model.length && native.every((w, i) => w.equals(model[i]!));
      }),
      { numRuns: 300 },
    ),
  );
});

test('in-order full segments of one flow are one write; a segment out of order starts the next', (t) => {
  const flow: Flow = {
    v6: false,
    src: Array(16).fill(1),
    dst: Array(16).fill(2),
    ports: [1000, 2000],
    ack: 7,
    window: 500,
    options: [],
    tos: 0,
    ttl: 64,
    df: true,
  };
  const seg = (seq: number) => tcpPacket(flow, seq, ACK, new Uint8Array(100).fill(seq & 0xff), seq);
  t.is(testing.groCoalesce([seg(0), seg(100), seg(200), seg(300)]).length, 1);
  const writes = testing.groCoalesce([seg(0), seg(100), seg(300), seg(200)]);
  t.is(writes.length, 3);
  t.is(writes[0]![1], GSO_TCPV4, 'the first two are a super-packet');
  t.is(writes[1]![1], 0, 'the one out of order goes alone');
});

test('property: junk behind any virtio-net header is split into segments that fit the MTU, or dropped', (t) => {
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 3000 }),
        fc.integer({ min: 576, max: 1500 }),
        (bytes, mtu) => {
          const out = testing.tsoSplit(bytes, mtu);
          return out === null || out.every((s) => s.length <= mtu);
        },
      ),
      { numRuns: 500 },
    ),
  );
});
