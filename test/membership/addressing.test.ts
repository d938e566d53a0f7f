/** Overlay subnets and member addresses. */
import test from 'ava';
import fc from 'fast-check';
import { formatIPv6, parseIPv4, parseIPv6 } from '../../core/base/ip.js';
import {
  allocateIPv4,
  ipv4InSubnet,
  ipv6ForIPv4,
  ipv6InSubnet,
  isAssignableIPv4,
  parseIPv4Subnet,
  parseIPv6Subnet,
  randomIPv4Subnet,
  randomIPv6Subnet,
} from '../../core/membership/addressing.js';
import { isMembershipError } from '../../core/membership/membershipError.js';
import { seededRandom } from './fixtures.js';

function usageError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isMembershipError(e) && e.code === 'EUSAGE') return `${e.message} | ${e.hint}`;
    throw e;
  }
  throw new Error('expected EUSAGE');
}

test('a random IPv4 subnet is one of the 64 /16s of 100.64.0.0/10', (t) => {
  const seen = new Set<string>();
  const random = seededRandom(3);
  for (let i = 0; i < 2000; i++) {
    const s = randomIPv4Subnet(random);
    t.is(s.prefix, 16);
    t.regex(s.address, /^100\.(6[4-9]|[7-9][0-9]|1[01][0-9]|12[0-7])\.0\.0$/);
    seen.add(s.address);
  }
  t.is(seen.size, 64);
});

test('a random IPv6 subnet is an RFC 4193 /64: fd, 40 random bits, subnet id 0', (t) => {
  const random = seededRandom(4);
  const a = randomIPv6Subnet(random);
  const b = randomIPv6Subnet(random);
  t.not(a.address, b.address);
  const bytes = parseIPv6(a.address)!;
  t.is(bytes[0], 0xfd);
  t.deepEqual([...bytes.subarray(6)], new Array(10).fill(0));
  t.deepEqual(parseIPv6Subnet(`${a.address}/64`), a);
});

test('--subnet accepts CIDRs inside 100.64.0.0/10 from /10 to /24', (t) => {
  t.deepEqual(parseIPv4Subnet('100.80.0.0/16'), { address: '100.80.0.0', prefix: 16 });
  t.deepEqual(parseIPv4Subnet('100.64.0.0/10'), { address: '100.64.0.0', prefix: 10 });
  t.deepEqual(parseIPv4Subnet(' 100.127.255.0/24 '), { address: '100.127.255.0', prefix: 24 });
});

test('--subnet refuses what is not a CIDR, outside the range, a bad prefix or host bits, saying how to fix it', (t) => {
  t.regex(
    usageError(() => parseIPv4Subnet('100.80.0.0')),
    /not an IPv4 CIDR \| write it like/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('banana/16')),
    /not an IPv4 CIDR/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('10.0.0.0/16')),
    /outside 100\.64\.0\.0\/10/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('100.128.0.0/16')),
    /outside/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('100.64.0.0/8')),
    /prefix \/8 \| use a prefix from \/10/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('100.80.0.0/25')),
    /prefix \/25/,
  );
  t.regex(
    usageError(() => parseIPv4Subnet('100.80.1.0/16')),
    /host bits set \| did you mean 100\.80\.0\.0\/16\?/,
  );
});

test('a member address is inside the subnet and never ends in .0 or .255', (t) => {
  const subnet = parseIPv4Subnet('100.80.0.0/16');
  t.true(isAssignableIPv4('100.80.1.1', subnet));
  for (const bad of ['100.80.0.0', '100.80.255.255', '100.80.7.0', '100.80.7.255', '100.81.1.1', 'x']) {
    t.false(isAssignableIPv4(bad, subnet), bad);
  }
});

test('allocation never returns a taken address', (t) => {
  const subnet = parseIPv4Subnet('100.90.0.0/22');
  t.notThrows(() =>
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.integer({ min: 0, max: 900 }), (seed, count) => {
        const random = seededRandom(seed);
        const taken = new Set<string>();
        for (let i = 0; i < count; i++) taken.add(allocateIPv4(subnet, taken, random));
        const next = allocateIPv4(subnet, taken, random);
        return !taken.has(next) && isAssignableIPv4(next, subnet);
      }),
      { numRuns: 30 },
    ),
  );
});

test('allocation fills a /24 completely, 254 addresses without repeats, then says it is full', (t) => {
  const subnet = parseIPv4Subnet('100.100.7.0/24');
  const random = seededRandom(8);
  const taken = new Set<string>();
  for (let i = 0; i < 254; i++) {
    const a = allocateIPv4(subnet, taken, random);
    t.false(taken.has(a));
    taken.add(a);
  }
  t.is(taken.size, 254);
  const e = t.throws(() => allocateIPv4(subnet, taken, random));
  t.true(isMembershipError(e) && e.code === 'ESUBNET_FULL');
});

test("a member's IPv6 address is the /64 prefix with its IPv4 address in the last 32 bits", (t) => {
  const v6 = parseIPv6Subnet('fd12:3456:789a::/64');
  t.is(ipv6ForIPv4(v6, '100.80.1.2'), 'fd12:3456:789a::6450:102');
  t.true(ipv6InSubnet('fd12:3456:789a::6450:102', v6));
  t.false(ipv6InSubnet('fd12:3456:789b::6450:102', v6));
  t.true(ipv4InSubnet('100.80.1.2', parseIPv4Subnet('100.80.0.0/16')));
});

test('IPv6 text round-trips through bytes in RFC 5952 form', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (bytes) => {
      const text = formatIPv6(bytes);
      return Buffer.from(parseIPv6(text)!).equals(Buffer.from(bytes)) && text === text.toLowerCase();
    }),
  );
  t.is(formatIPv6(parseIPv6('2001:DB8:0:0:1:0:0:1')!), '2001:db8::1:0:0:1');
  t.is(formatIPv6(parseIPv6('::ffff:192.0.2.1')!), '::ffff:c000:201');
  for (const bad of ['1::2::3', '12345::', ':::', '1:2:3:4:5:6:7:8:9', 'g::1', '1.2.3.4::'])
    t.is(parseIPv6(bad), undefined, bad);
  for (const bad of ['1.2.3', '01.2.3.4', '256.1.1.1', '1.2.3.4.5']) t.is(parseIPv4(bad), undefined, bad);
});
