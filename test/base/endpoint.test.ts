import test from 'ava';
import {
  canonicalEndpoint,
  endpointAddressBytes,
  endpointFamily,
  endpointFromBytes,
  formatEndpoint,
  parseEndpoint,
  sameEndpoint,
} from '../../core/base/endpoint.js';

test('IPv4 and IPv6 endpoints parse to one value and format back to the same text', (t) => {
  t.deepEqual(parseEndpoint('192.0.2.1:51820'), { address: '192.0.2.1', port: 51820 });
  t.deepEqual(parseEndpoint('[2001:db8::1]:1'), { address: '2001:db8::1', port: 1 });
  t.deepEqual(parseEndpoint('[fd00::7]:65535'), { address: 'fd00::7', port: 65535 });
  for (const text of ['192.0.2.1:51820', '[2001:db8::1]:1', '[fd00::7]:65535', '0.0.0.0:9'])
    t.is(formatEndpoint(parseEndpoint(text)!), text);
});

test('any spelling of an IPv6 address parses to its RFC 5952 form', (t) => {
  t.deepEqual(parseEndpoint('[2001:DB8:0:0:0:0:0:1]:80'), { address: '2001:db8::1', port: 80 });
  t.deepEqual(parseEndpoint('[::ffff:192.0.2.1]:80'), { address: '::ffff:c000:201', port: 80 });
  t.is(canonicalEndpoint('[2001:0db8::0001]:443'), '[2001:db8::1]:443');
  t.true(sameEndpoint(parseEndpoint('[2001:DB8::1]:5'), parseEndpoint('[2001:db8:0::1]:5')));
});

test('anything but ip:port or [ipv6]:port with a port from 1 to 65535 is refused', (t) => {
  for (const bad of [
    '',
    '192.0.2.1',
    '192.0.2.1:0',
    '192.0.2.1:65536',
    '192.0.2.1:080',
    '01.2.3.4:80',
    '256.1.1.1:80',
    '2001:db8::1:80',
    '[192.0.2.1]:80',
    '[2001:db8::1]',
    '[2001:db8::1%eth0]:80',
    'host:80',
    ' 192.0.2.1:80',
    '192.0.2.1:80 ',
    `[${'0:'.repeat(60)}1]:80`,
  ]) {
    t.is(parseEndpoint(bad), undefined, JSON.stringify(bad));
    t.is(canonicalEndpoint(bad), undefined, JSON.stringify(bad));
  }
  t.is(parseEndpoint(undefined as unknown as string), undefined);
});

test('an endpoint goes to address bytes and back, with its family', (t) => {
  const v4 = parseEndpoint('198.51.100.7:40000')!;
  t.deepEqual([...endpointAddressBytes(v4)], [198, 51, 100, 7]);
  t.is(endpointFamily(v4), 4);
  t.deepEqual(endpointFromBytes(endpointAddressBytes(v4), v4.port), v4);
  const v6 = parseEndpoint('[2001:db8::9]:51820')!;
  t.is(endpointAddressBytes(v6).length, 16);
  t.is(endpointFamily(v6), 6);
  t.deepEqual(endpointFromBytes(endpointAddressBytes(v6), v6.port), v6);
  t.throws(() => endpointAddressBytes({ address: 'nowhere', port: 1 }), { instanceOf: RangeError });
});

test('sameEndpoint compares address and port, and nothing is the same as undefined', (t) => {
  const a = parseEndpoint('192.0.2.1:1');
  t.true(sameEndpoint(a, { address: '192.0.2.1', port: 1 }));
  t.false(sameEndpoint(a, { address: '192.0.2.1', port: 2 }));
  t.false(sameEndpoint(a, undefined));
  t.false(sameEndpoint(undefined, undefined));
});

test('a parsed endpoint is shared between callers (a cache), so no caller can change it under another', (t) => {
  const first = parseEndpoint('192.0.2.7:4000')!;
  const again = parseEndpoint('192.0.2.7:4000')!;
  t.true(Object.isFrozen(first));
  t.throws(() => {
    (again as { port: number }).port = 1;
  });
  t.deepEqual(parseEndpoint('192.0.2.7:4000'), { address: '192.0.2.7', port: 4000 });
  // Text that is refused is refused every time, however often it is asked about.
  for (let i = 0; i < 3; i++) t.is(parseEndpoint('192.0.2.7:04000'), undefined);
});
