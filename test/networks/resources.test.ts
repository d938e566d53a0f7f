/**
 * A second network on a host takes a range, a port and an interface that nothing of the host's
 * uses (issue 14): the choices over the host's facts, without root.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { parseIPv4Subnet, parseIPv6Subnet } from '../../core/membership/addressing.js';
import {
  type HostRoute,
  parseRoutes,
  parseUdpPorts,
  pickInterface,
  pickListenPort,
  pickSubnet,
  subnetClash,
} from '../../core/node/networkResources.js';
import type { HostNetwork } from '../../core/node/networks.js';
import type { NodeSettings } from '../../core/node/nodeState.js';

function network(name: string, subnet: string, listenPort: number, iface?: string): HostNetwork {
  const settings = {
    network: {
      key: new Uint8Array(32),
      name,
      ipv4Subnet: parseIPv4Subnet(subnet),
      ipv6Subnet: parseIPv6Subnet('fd11:2233:4455::/64'),
    },
    listenPort,
    ...(iface !== undefined && { interface: iface }),
  } as NodeSettings;
  return { name, stateDir: `/state/${name}`, settings };
}

const HOME = network('home', '100.80.0.0/16', 51820);
const route = (cidr: string, device: string): HostRoute => {
  const [address, prefix] = cidr.split('/');
  return { subnet: { address: address!, prefix: Number(prefix) }, device };
};

/** Deterministic bytes: each call gives the next counter value. */
function counting(): (n: number) => Uint8Array {
  let i = 0;
  return (n) => Uint8Array.from({ length: n }, () => i++ & 0xff);
}

test("a range that overlaps another network's or a route is named; the default route is no clash", (t) => {
  t.like(subnetClash(parseIPv4Subnet('100.80.0.0/16'), [HOME], []), {
    what: "the network home's 100.80.0.0/16",
    network: 'home',
  });
  t.like(subnetClash(parseIPv4Subnet('100.80.5.0/24'), [HOME], []), { network: 'home' }, 'inside it');
  t.like(subnetClash(parseIPv4Subnet('100.64.0.0/10'), [HOME], []), { network: 'home' }, 'around it');
  t.is(subnetClash(parseIPv4Subnet('100.81.0.0/16'), [HOME], []), undefined);
  t.deepEqual(subnetClash(parseIPv4Subnet('100.100.0.0/16'), [], [route('100.64.0.0/10', 'eth1')]), {
    what: 'the route to 100.64.0.0/10 on eth1',
  });
  t.is(subnetClash(parseIPv4Subnet('100.100.0.0/16'), [], [route('0.0.0.0/0', 'eth0')]), undefined);
});

test('init picks a /16 that no network and no route of the host uses, and says so when none is left', (t) => {
  const others = [HOME, network('work', '100.96.0.0/12', 51821)];
  const routes = [route('100.64.0.0/12', 'eth1')];
  for (let i = 0; i < 200; i++) {
    const s = pickSubnet(others, routes, counting());
    t.is(subnetClash(s, others, routes), undefined);
  }
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) seen.add(pickSubnet(others, routes, randomBytes).address);
  t.is(seen.size, 64 - 16 - 16 - 1, 'every free /16 can be picked, and only those');
  t.throws(() => pickSubnet([], [route('100.64.0.0/10', 'cgnat0')], counting()), {
    message: /every \/16 of 100\.64\.0\.0\/10 is taken/,
  });
});

test('a new network gets the first UDP port from the default up that no network remembers and nothing binds', (t) => {
  t.is(pickListenPort([], new Set()), 51820);
  t.is(pickListenPort([HOME], new Set()), 51821);
  t.is(pickListenPort([HOME], new Set([51821, 51822])), 51823);
});

test("a new network's interface is ovl-NAME, cut to 15 bytes, numbered when a link or network holds it", (t) => {
  t.is(pickInterface('work', [HOME], new Set(['lo', 'ovl0'])), 'ovl-work');
  t.is(pickInterface('averyveryverylongname', [], new Set()), 'ovl-averyveryve');
  t.is(pickInterface('work', [], new Set(['ovl-work'])), 'ovl-work2');
  t.is(
    pickInterface('work', [network('other', '100.90.0.0/16', 51822, 'ovl-work')], new Set(['ovl-work2'])),
    'ovl-work3',
  );
  t.is(pickInterface('averyveryverylongname', [], new Set(['ovl-averyveryve'])), 'ovl-averyveryv2');
});

test("the host's routes and bound UDP ports, from /proc's text", (t) => {
  const routes = parseRoutes(
    [
      'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT',
      'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0',
      'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0',
      'ovl0\t00005064\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0',
    ].join('\n'),
  );
  t.deepEqual(
    routes.map((r) => `${r.subnet.address}/${r.subnet.prefix} ${r.device}`),
    ['0.0.0.0/0 eth0', '192.0.2.0/24 eth0', '100.80.0.0/16 ovl0'],
  );
  const ports = parseUdpPorts(
    [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops',
      '  123: 00000000:CAAC 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0',
      '  124: 0100007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0 0',
    ].join('\n'),
  );
  t.deepEqual(ports, [51884, 53]);
});
