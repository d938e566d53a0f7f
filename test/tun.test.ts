import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import test, { type ExecutionContext } from 'ava';
import { Netns } from './helpers/netns.js';
import { rootTest } from './helpers/root.js';
import {
  type AgentError,
  type AgentReply,
  exitWithin,
  TunAgent,
  type TunAgentOptions,
} from './helpers/tun-agent.js';
import { buildUdpPacket, ipBytes, parseUdpPacket } from './helpers/tun-packets.js';

interface LinkInfo {
  ifname: string;
  ifindex: number;
  mtu: number;
  flags: string[];
}

/** A namespace and an agent in it, both gone when the test ends, pass or fail. */
function setup(
  t: ExecutionContext,
  tag: string,
  options: TunAgentOptions = {},
): { ns: Netns; agent: TunAgent } {
  const ns = new Netns(tag);
  t.teardown(() => ns.destroy());
  const agent = new TunAgent(ns, options);
  t.teardown(() => agent.kill());
  return { ns, agent };
}

function link(ns: Netns, name: string): LinkInfo | undefined {
  try {
    const out = execFileSync('ip', ['-n', ns.name, '-j', 'link', 'show', 'dev', name], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'], // "does not exist" is an answer here, not noise
    });
    const [info] = JSON.parse(out) as LinkInfo[];
    return info;
  } catch {
    return undefined;
  }
}

function ok<T>(t: ExecutionContext, reply: AgentReply<T>): T {
  if (!reply.ok)
    t.fail(`expected success, got ${reply.error.code ?? reply.error.name}: ${reply.error.message}`);
  return (reply as { result: T }).result;
}

function failure(t: ExecutionContext, reply: AgentReply<unknown>): AgentError {
  if (reply.ok) {
    t.fail(`expected an error, got ${JSON.stringify(reply.result)}`);
    return { name: 'none', message: '' };
  }
  return reply.error;
}

/** Configures an open agent Tun as the data-path tests need it. */
async function bringUp(t: ExecutionContext, agent: TunAgent, name: string, cidr: string): Promise<void> {
  ok(t, await agent.request('open', { name }));
  ok(t, await agent.call('setMtu', 1420));
  ok(t, await agent.call('up'));
  ok(t, await agent.call('addAddress', cidr));
}

async function roundTrip(t: ExecutionContext, family: 4 | 6, local: string, peer: string, prefix: number) {
  const { agent } = setup(t, `rt${family}`);
  await bringUp(t, agent, `ovl${family}`, `${local}/${prefix}`);
  const { socket, port } = await agent.must<{ socket: number; port: number }>('udpBind', { address: local });

  // Outbound: socket -> kernel -> TUN -> readBatch.
  const outPayload = Buffer.from(`hello from the host over IPv${family}`);
  const read = agent.request<{ hex: string } | null>('readUdpPacket', { version: family, dstPort: 40000 });
  ok(
    t,
    await agent.request('udpSend', {
      socket,
      address: peer,
      port: 40000,
      payloadHex: outPayload.toString('hex'),
    }),
  );
  const packet = ok(t, await read);
  t.truthy(packet, 'no matching packet was read from the TUN');
  const parsed = parseUdpPacket(Buffer.from(packet?.hex ?? '', 'hex'));
  t.like(parsed, { version: family, protocol: 17, srcPort: port, dstPort: 40000 });
  t.deepEqual(ipBytes(parsed?.src ?? '0.0.0.0'), ipBytes(local));
  t.deepEqual(ipBytes(parsed?.dst ?? '0.0.0.0'), ipBytes(peer));
  t.deepEqual(parsed?.payload, outPayload);
  t.true(
    parsed?.ipChecksumOk && parsed.udpChecksumOk && parsed.lengthOk,
    'checksums or length do not verify',
  );

  // Inbound: crafted packet -> writeBatch -> TUN -> kernel -> socket.
  const inPayload = Buffer.from(`hello from the tunnel over IPv${family}`);
  const crafted = buildUdpPacket({
    src: peer,
    dst: local,
    srcPort: 40001,
    dstPort: port,
    payload: inPayload,
  });
  const received = agent.request<{ payloadHex: string; address: string; port: number } | null>('udpRecv', {
    socket,
    timeoutMs: 3000,
  });
  t.deepEqual(ok(t, await agent.request('writePackets', { hexes: [crafted.toString('hex')] })), {
    written: 1,
  });
  const datagram = ok(t, await received);
  t.truthy(datagram, 'the written packet never reached the socket');
  t.is(datagram?.payloadHex, inPayload.toString('hex'));
  t.deepEqual(ipBytes(datagram?.address ?? '0.0.0.0'), ipBytes(peer));
  t.is(datagram?.port, 40001);
}

rootTest(
  test,
  'IPv4: a datagram to the subnet is read by readBatch, and a written packet reaches a socket',
  (t) => roundTrip(t, 4, '100.64.0.1', '100.64.0.2', 24),
);

rootTest(
  test,
  'IPv6: a datagram to the subnet is read by readBatch, and a written packet reaches a socket',
  (t) => roundTrip(t, 6, 'fd00:6f76::1', 'fd00:6f76::2', 64),
);

rootTest(test, 'the MTU that is set is what the kernel reports', async (t) => {
  const { ns, agent } = setup(t, 'mtu');
  ok(t, await agent.request('open', { name: 'ovlmtu' }));
  for (const mtu of [1280, 1420, 9000]) {
    ok(t, await agent.call('setMtu', mtu));
    t.is(ok(t, await agent.call('getMtu')), mtu);
    t.is(link(ns, 'ovlmtu')?.mtu, mtu);
  }
  t.is(failure(t, await agent.call('setMtu', 10)).code, 'EINVAL', 'an MTU below the kernel minimum');
});

rootTest(test, 'up and down are reflected in the interface flags', async (t) => {
  const { ns, agent } = setup(t, 'updown');
  ok(t, await agent.request('open', { name: 'ovlud' }));
  t.false(ok(t, await agent.call('isUp')));
  t.false(link(ns, 'ovlud')?.flags.includes('UP'));
  ok(t, await agent.call('up'));
  t.true(ok(t, await agent.call('isUp')));
  t.true(link(ns, 'ovlud')?.flags.includes('UP'));
  ok(t, await agent.call('down'));
  t.false(ok(t, await agent.call('isUp')));
  t.false(link(ns, 'ovlud')?.flags.includes('UP'));
});

rootTest(test, 'without a name the kernel chooses one', async (t) => {
  const { ns, agent } = setup(t, 'auto');
  const opened = ok(t, await agent.request<{ name: string; ifindex: number }>('open'));
  t.regex(opened.name, /^tun\d+$/);
  t.is(link(ns, opened.name)?.ifindex, opened.ifindex);
});

rootTest(
  test,
  'close removes the interface, a second close is harmless, and later use is ETUN',
  async (t) => {
    const { ns, agent } = setup(t, 'close');
    ok(t, await agent.request('open', { name: 'ovlclose' }));
    t.truthy(link(ns, 'ovlclose'));
    ok(t, await agent.call('close'));
    t.is(link(ns, 'ovlclose'), undefined);
    ok(t, await agent.call('close'));
    t.true(ok(t, await agent.request('get', { property: 'closed' })));
    const error = failure(t, await agent.call('up'));
    t.is(error.code, 'ETUN');
    t.regex(error.message, /ovlclose.*closed/);
  },
);

rootTest(test, 'a Tun that JavaScript drops is closed by the garbage collector', async (t) => {
  const { ns, agent } = setup(t, 'gc');
  ok(t, await agent.request('open', { name: 'ovlgc' }));
  ok(t, await agent.request('dropAndCollect'));
  let gone = false;
  for (let i = 0; i < 40 && !gone; i++) {
    gone = link(ns, 'ovlgc') === undefined;
    if (!gone) await sleep(50);
  }
  t.true(gone, 'the interface still exists after the Tun was collected');
});

rootTest(test, 'an armed Tun keeps the process alive until close() or unref()', async (t) => {
  const armed = setup(t, 'alive').agent;
  ok(t, await armed.request('open', { name: 'ovlalive' }));
  ok(t, await armed.request('armReading'));
  ok(t, await armed.request('detach'));
  t.is(await exitWithin(armed, 1000), 'running', 'an armed Tun must keep its process alive, like a socket');

  const closed = setup(t, 'closed').agent;
  ok(t, await closed.request('open', { name: 'ovlclosed' }));
  ok(t, await closed.request('armReading'));
  ok(t, await closed.call('close'));
  ok(t, await closed.request('detach'));
  t.deepEqual(await exitWithin(closed, 5000), { code: 0, signal: null });

  const unrefd = setup(t, 'unref').agent;
  ok(t, await unrefd.request('open', { name: 'ovlunref' }));
  ok(t, await unrefd.request('armReading'));
  t.is(ok(t, await unrefd.call('unref')), 'this');
  ok(t, await unrefd.request('detach'));
  t.deepEqual(await exitWithin(unrefd, 5000), { code: 0, signal: null });
});

rootTest(test, 'a bad interface name is EINVAL', async (t) => {
  const { ns, agent } = setup(t, 'badname');
  for (const name of ['a'.repeat(16), 'bad/name', 'bad name', 'bad:name', '..']) {
    const error = failure(t, await agent.request('open', { name }));
    t.is(error.code, 'EINVAL', name);
    t.true(error.isTunError, name);
    t.true(error.message.includes(name), `message names the device: ${error.message}`);
  }
  t.is(failure(t, await agent.request('open', { name: 5 })).name, 'TypeError');
  // The process survived all of that and still works.
  ok(t, await agent.request('open', { name: 'a'.repeat(15) }));
  t.truthy(link(ns, 'a'.repeat(15)));
});

rootTest(test, 'a name held by a TUN in use is EBUSY', async (t) => {
  const { ns } = setup(t, 'busy');
  const first = new TunAgent(ns);
  t.teardown(() => first.kill());
  const second = new TunAgent(ns);
  t.teardown(() => second.kill());
  ok(t, await first.request('open', { name: 'ovlbusy' }));
  const error = failure(t, await second.request('open', { name: 'ovlbusy' }));
  t.is(error.code, 'EBUSY');
  t.is(error.errno, -16);
  t.is(error.syscall, 'ioctl(TUNSETIFF)');
  t.regex(error.message, /ovlbusy/);
  t.truthy(link(ns, 'ovlbusy'), 'the first holder keeps its device');
});

rootTest(test, 'a name held by a link that is not a TUN is EBUSY', async (t) => {
  const { ns, agent } = setup(t, 'veth');
  ns.ip('link', 'add', 'ovlveth', 'type', 'veth', 'peer', 'name', 'ovlveth1');
  const error = failure(t, await agent.request('open', { name: 'ovlveth' }));
  t.is(error.code, 'EBUSY');
  t.regex(error.message, /ovlveth.*not a usable TUN/);
});

rootTest(test, 'a bad address or prefix is EINVAL and adds nothing', async (t) => {
  const { ns, agent } = setup(t, 'badaddr');
  ok(t, await agent.request('open', { name: 'ovlbad' }));
  ok(t, await agent.call('up'));
  const bad = [
    '100.64.0.1',
    '100.64.0.1/33',
    '100.64.0.256/24',
    '100.64.0.1/-1',
    '100.64.0.1/24x',
    '100.64.0.1/ 24',
    'fd00:6f76::1/129',
    'fd00:6f76::g/64',
    'not an address/24',
    '',
  ];
  for (const cidr of bad) {
    const error = failure(t, await agent.call('addAddress', cidr));
    t.is(error.code, 'EINVAL', cidr);
    t.regex(error.message, /ovlbad/);
  }
  t.is(failure(t, await agent.call('addAddress', 100)).name, 'TypeError');
  const addrs = JSON.parse(ns.ip('-j', 'addr', 'show', 'dev', 'ovlbad')) as {
    addr_info: { scope: string }[];
  }[];
  t.deepEqual(
    addrs[0]?.addr_info.filter((a) => a.scope === 'global'),
    [],
  );
  ok(t, await agent.call('addAddress', '100.64.0.1/24'));
  const again = failure(t, await agent.call('addAddress', '100.64.0.1/24'));
  t.like(again, { code: 'ETUN', errno: -17, syscall: 'RTM_NEWADDR' });
});

rootTest(test, 'without CAP_NET_ADMIN opening is EPERM and the process carries on', async (t) => {
  const { agent } = setup(t, 'perm', { asNobody: true });
  // Where /dev/net/tun is world read-write (most distributions) the kernel refuses TUNSETIFF
  // with EPERM; where it is 0600 (some hardened hosts) open() already fails with EACCES. Either
  // way the caller must see the same EPERM code and message.
  const worldOpenable = (statSync('/dev/net/tun').mode & 0o006) === 0o006;
  const expected = worldOpenable
    ? { errno: -1, syscall: 'ioctl(TUNSETIFF)' }
    : { errno: -13, syscall: 'open' };
  for (const name of ['ovlperm', undefined]) {
    const error = failure(t, await agent.request('open', name === undefined ? {} : { name }));
    t.is(error.code, 'EPERM', error.message);
    t.like(error, expected);
    t.regex(error.message, /needs root or CAP_NET_ADMIN/);
  }
  ok(t, await agent.request('detach'));
  t.deepEqual(await exitWithin(agent, 5000), { code: 0, signal: null }, agent.errorOutput);
});

rootTest(test, 'without /dev/net/tun opening is ENOTUN', async (t) => {
  const { agent } = setup(t, 'notun', { hideTunDevice: true });
  const error = failure(t, await agent.request('open', { name: 'ovlnotun' }));
  t.like(error, { code: 'ENOTUN', errno: -2, syscall: 'open' });
  t.regex(error.message, /ovlnotun.*\/dev\/net\/tun/);
  ok(t, await agent.request('detach'));
  t.deepEqual(await exitWithin(agent, 5000), { code: 0, signal: null }, agent.errorOutput);
});

rootTest(
  test,
  'batch calls reject wrong types and slots that do not fit, and count rejected packets',
  async (t) => {
    const { agent } = setup(t, 'args');
    ok(t, await agent.request('open', { name: 'ovlargs' }));
    ok(t, await agent.call('up'));
    const typeErrors: unknown[][] = [
      ['readBatch', 'buf', { $u32: 4 }, 1500],
      ['readBatch', { $buf: 6000 }, [0, 0], 1500],
      ['readBatch', { $buf: 6000 }, { $u32: 4 }, '1500'],
      ['writeBatch', { $buf: 6000 }, { $u32: [20] }, 1500],
      ['setMtu', '1400'],
      ['onReadable', 'not a function'],
    ];
    for (const [method, ...args] of typeErrors) {
      const error = failure(t, await agent.call(String(method), ...args));
      t.like(error, { name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' }, String(method));
    }
    const rangeErrors: unknown[][] = [
      ['readBatch', { $buf: 100 }, { $u32: 2 }, 1500, 1],
      ['readBatch', { $buf: 6000 }, { $u32: 4 }, 0],
      ['writeBatch', { $buf: 3000 }, { $u32: [20, 20, 20] }, 1500, 3],
      ['writeBatch', { $buf: 6000 }, { $u32: [1501] }, 1500, 1],
      ['setMtu', 1.5],
    ];
    for (const [method, ...args] of rangeErrors) {
      const error = failure(t, await agent.call(String(method), ...args));
      t.like(error, { name: 'RangeError', code: 'ERR_OUT_OF_RANGE' }, String(method));
    }
    // Not IPv4 or IPv6: the kernel refuses it, the batch goes on past it.
    const garbage = Buffer.alloc(28).toString('hex');
    const valid = buildUdpPacket({
      src: '100.64.0.2',
      dst: '100.64.0.1',
      srcPort: 1,
      dstPort: 9,
      payload: Buffer.from('x'),
    }).toString('hex');
    t.deepEqual(ok(t, await agent.request('writePackets', { hexes: [garbage, valid] })), { written: 2 });
    t.like(ok(t, await agent.call('stats')), { txRejected: 1, txPackets: 1 });
  },
);

rootTest(test, 'removeAddress takes away exactly the address given', async (t) => {
  const { ns, agent } = setup(t, 'rmaddr');
  ok(t, await agent.request('open', { name: 'ovlrm' }));
  ok(t, await agent.call('up'));
  ok(t, await agent.call('addAddress', '100.64.0.1/24'));
  ok(t, await agent.call('addAddress', 'fd00:6f76::1/64'));
  ok(t, await agent.call('removeAddress', '100.64.0.1/24'));
  const global = () =>
    (
      JSON.parse(ns.ip('-j', 'addr', 'show', 'dev', 'ovlrm')) as {
        addr_info: { local: string; scope: string }[];
      }[]
    )[0]?.addr_info
      .filter((a) => a.scope === 'global')
      .map((a) => a.local);
  t.deepEqual(global(), ['fd00:6f76::1']);
  t.like(failure(t, await agent.call('removeAddress', '100.64.0.1/24')), {
    code: 'ETUN',
    syscall: 'RTM_DELADDR',
  });
});

rootTest(
  test,
  'setRouteMtu gives one destination a smaller path MTU, replaces it, and removes it',
  async (t) => {
    const { ns, agent } = setup(t, 'rtmtu');
    ok(t, await agent.request('open', { name: 'ovlrtmtu' }));
    ok(t, await agent.call('setMtu', 1420));
    ok(t, await agent.call('up'));
    ok(t, await agent.call('addAddress', '100.64.0.1/16'));
    ok(t, await agent.call('addAddress', 'fd00:6f76::1/64'));
    const routeGet = (address: string) =>
      ns.ip(...(address.includes(':') ? ['-6'] : []), 'route', 'get', address);
    const hostRoutes = (family: '-4' | '-6', dst: string) =>
      (JSON.parse(ns.ip(family, '-j', 'route', 'show', 'dev', 'ovlrtmtu')) as { dst: string }[]).filter(
        (r) => r.dst === dst,
      );

    ok(t, await agent.call('setRouteMtu', '100.64.0.9/32', 1376));
    ok(t, await agent.call('setRouteMtu', 'fd00:6f76::9/128', 1356));
    t.regex(routeGet('100.64.0.9'), /\bmtu 1376\b/);
    t.regex(routeGet('fd00:6f76::9'), /\bmtu 1356\b/);
    t.notRegex(routeGet('100.64.0.10'), /\bmtu\b/, 'the rest of the subnet keeps the interface MTU');

    ok(t, await agent.call('setRouteMtu', '100.64.0.9/32', 1400));
    ok(t, await agent.call('setRouteMtu', 'fd00:6f76::9/128', 1400));
    t.regex(routeGet('100.64.0.9'), /\bmtu 1400\b/);
    t.regex(routeGet('fd00:6f76::9'), /\bmtu 1400\b/);
    t.is(hostRoutes('-4', '100.64.0.9').length, 1, 'replaced, not added beside');
    t.is(hostRoutes('-6', 'fd00:6f76::9').length, 1, 'replaced, not added beside');

    ok(t, await agent.call('setRouteMtu', '100.64.0.9/32', null));
    ok(t, await agent.call('setRouteMtu', 'fd00:6f76::9/128', null));
    t.notRegex(routeGet('100.64.0.9'), /\bmtu\b/);
    t.notRegex(routeGet('fd00:6f76::9'), /\bmtu\b/);
    t.deepEqual(hostRoutes('-4', '100.64.0.9'), []);
    t.is(hostRoutes('-4', '100.64.0.0/16').length, 1, 'the on-link subnet route stays');
    ok(t, await agent.call('setRouteMtu', '100.64.0.9/32', null));
    ok(t, await agent.call('setRouteMtu', 'fd00:6f76::9/128', null));
  },
);

rootTest(test, 'setRouteMtu rejects a bad prefix or MTU with EINVAL', async (t) => {
  const { agent } = setup(t, 'rtmtubad');
  ok(t, await agent.request('open', { name: 'ovlrtbad' }));
  ok(t, await agent.call('up'));
  const bad: [string, number][] = [
    ['100.64.0.9', 1376],
    ['not a prefix/32', 1376],
    ['100.64.0.9/16', 1376],
    ['100.64.0.9/32', 100],
    ['100.64.0.9/32', 65536],
    ['100.64.0.9/32', 1376.5],
    ['fd00:6f76::9/128', 1279],
  ];
  for (const [prefix, mtu] of bad) {
    const error = failure(t, await agent.call('setRouteMtu', prefix, mtu));
    t.is(error.code, 'EINVAL', `${prefix} ${mtu}`);
    t.regex(error.message, /ovlrtbad/);
  }
  t.is(failure(t, await agent.call('setRouteMtu', '100.64.0.9/32', '1376')).name, 'TypeError');
});
