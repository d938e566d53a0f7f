/** Cryptokey routing: the native longest-prefix table against a scan-everything model. */
import { isIPv4 } from 'node:net';
import test from 'ava';
import fc from 'fast-check';
import { testing } from 'tun-napi';

function bytesOf(addr: string): Uint8Array {
  if (isIPv4(addr)) return Uint8Array.from(addr.split('.').map(Number));
  // expand :: for the test's own addresses
  const [head = '', tail = ''] = addr.split('::');
  const h = head ? head.split(':') : [];
  const tl = tail ? tail.split(':') : [];
  const groups = addr.includes('::') ? [...h, ...Array(8 - h.length - tl.length).fill('0'), ...tl] : h;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

function contains(prefix: Uint8Array, len: number, addr: Uint8Array): boolean {
  if (prefix.length !== addr.length) return false;
  for (let bit = 0; bit < len; bit++) {
    const mask = 0x80 >> (bit % 8);
    if ((prefix[bit >> 3]! & mask) !== (addr[bit >> 3]! & mask)) return false;
  }
  return true;
}

test('longest prefix wins, for IPv4 and IPv6', (t) => {
  const table = new testing.AllowedIps();
  table.insert('100.64.0.0/10', 1);
  table.insert('100.64.3.0/24', 2);
  table.insert('100.64.3.7/32', 3);
  table.insert('fd00::/8', 4);
  table.insert('fd00:6f76::/64', 5);
  t.is(table.lookup(bytesOf('100.64.9.9')), 1);
  t.is(table.lookup(bytesOf('100.64.3.9')), 2);
  t.is(table.lookup(bytesOf('100.64.3.7')), 3);
  t.is(table.lookup(bytesOf('192.0.2.1')), 0);
  t.is(table.lookup(bytesOf('fd12::1')), 4);
  t.is(table.lookup(bytesOf('fd00:6f76::9')), 5);
  t.is(table.lookup(bytesOf('fe80::1')), 0);
  table.removePeer(2);
  t.is(table.lookup(bytesOf('100.64.3.9')), 1);
});

test('a prefix belongs to one peer: inserting it again moves it', (t) => {
  const table = new testing.AllowedIps();
  table.insert('100.64.1.0/24', 1);
  table.insert('100.64.1.0/24', 2);
  t.is(table.lookup(bytesOf('100.64.1.1')), 2);
  table.removePeer(1);
  t.is(table.lookup(bytesOf('100.64.1.1')), 2);
});

test('host bits in a prefix are ignored, as the kernel does', (t) => {
  const table = new testing.AllowedIps();
  table.insert('100.64.1.77/24', 7);
  t.is(table.lookup(bytesOf('100.64.1.1')), 7);
});

test('bad prefixes are range errors, not crashes', (t) => {
  const table = new testing.AllowedIps();
  for (const bad of ['100.64.0.0', '100.64.0.0/33', 'fd00::/129', 'x/8', '']) {
    t.throws(() => table.insert(bad, 1), { instanceOf: RangeError }, bad);
  }
  t.throws(() => table.lookup(new Uint8Array(5)), { instanceOf: RangeError });
});

test('property: lookups agree with a model that scans every prefix', (t) => {
  const v4 = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }));
  const entry = fc.tuple(v4, fc.integer({ min: 1, max: 6 }));
  const check = () =>
    fc.assert(
      fc.property(
        fc.array(entry, { maxLength: 40 }),
        fc.array(fc.uint8Array({ minLength: 4, maxLength: 4 })),
        (entries, probes) => {
          const table = new testing.AllowedIps();
          const model = new Map<string, { prefix: Uint8Array; len: number; peer: number }>();
          for (const [[addr, len], peer] of entries) {
            table.insert(`${addr.join('.')}/${len}`, peer);
            const masked = Uint8Array.from(addr, (b, i) => {
              const bits = Math.max(0, Math.min(8, len - i * 8));
              return b & ((0xff << (8 - bits)) & 0xff);
            });
            model.set(`${masked.join('.')}/${len}`, { prefix: masked, len, peer });
          }
          // probe near the inserted prefixes too, not only at random
          const near = entries.map(([[addr]]) => addr);
          for (const probe of [...probes, ...near]) {
            let best: { len: number; peer: number } | undefined;
            for (const e of model.values()) {
              if (contains(e.prefix, e.len, probe) && (!best || e.len > best.len)) best = e;
            }
            if (table.lookup(probe) !== (best?.peer ?? 0)) return false;
          }
          return true;
        },
      ),
      { numRuns: 300 },
    );
  t.notThrows(check);
});
