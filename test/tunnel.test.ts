/**
 * The tunnel end to end, as root in namespaces this file makes: overlay's native data path and
 * handshake against another overlay node and against a stock wireguard-go.
 */
import test, { type ExecutionContext } from 'ava';
import { until } from './helpers/jsonLines.js';
import { linkCounters } from './helpers/kernelCounters.js';
import { Netns, vethPair } from './helpers/netns.js';
import { newKeys, ping, startTunnelNode, type TunnelNodeConfig } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';
import { WireguardGo } from './helpers/wireguardGo.js';

const A_UNDER = '192.0.2.1';
const B_UNDER = '192.0.2.2';
const PORT = 51820;

function twoHosts(t: ExecutionContext, tag: string): { a: Netns; b: Netns; ifB: string } {
  const a = new Netns(`${tag}a`);
  t.teardown(() => a.destroy());
  const b = new Netns(`${tag}b`);
  t.teardown(() => b.destroy());
  const { ifB } = vethPair(a, `${A_UNDER}/24`, b, `${B_UNDER}/24`);
  return { a, b, ifB };
}

async function overlayPair(
  t: ExecutionContext,
  tag: string,
  timings?: Record<string, number>,
  options: { aWithoutEndpoint?: boolean } = {},
) {
  const { a, b, ifB } = twoHosts(t, tag);
  const ka = newKeys();
  const kb = newKeys();
  const cfg = (
    self: typeof ka,
    peer: typeof kb,
    addr4: string,
    addr6: string,
    peer4: string,
    peer6: string,
    ep: string | undefined,
  ) =>
    ({
      privateKey: self.privateKey,
      listenPort: PORT,
      addresses: [`${addr4}/24`, `${addr6}/64`],
      timings,
      peers: [
        {
          publicKey: peer.publicKey,
          ...(ep !== undefined && { endpoint: { address: ep, port: PORT } }),
          allowedIps: [`${peer4}/32`, `${peer6}/128`],
        },
      ],
    }) satisfies TunnelNodeConfig;
  const na = await startTunnelNode(
    a,
    cfg(
      ka,
      kb,
      '100.64.0.1',
      'fd00:6f76::1',
      '100.64.0.2',
      'fd00:6f76::2',
      options.aWithoutEndpoint ? undefined : B_UNDER,
    ),
  );
  const nb = await startTunnelNode(
    b,
    cfg(kb, ka, '100.64.0.2', 'fd00:6f76::2', '100.64.0.1', 'fd00:6f76::1', A_UNDER),
  );
  return { a, b, ifB, na, nb, ka, kb };
}

rootTest(
  test,
  'overlay to overlay: the first packet starts a handshake; pings pass both ways, IPv4 and IPv6',
  async (t) => {
    const { a, b, na } = await overlayPair(t, 'oo');
    const first = ping(a, '100.64.0.2', 3);
    t.is(first.received, 3, first.output);
    t.is(ping(b, '100.64.0.1', 3).received, 3);
    t.is(ping(a, 'fd00:6f76::2', 3).received, 3);
    t.is(ping(b, 'fd00:6f76::1', 3).received, 3);
    const status = await na.request({ cmd: 'status' }, 'status');
    const [peer] = status['peers'] as { handshakes: number; rxBytes: number; endpoint: string }[];
    t.is(peer!.handshakes, 1, 'one handshake served all twelve pings');
    t.true(peer!.rxBytes > 0);
    t.is(peer!.endpoint, `${B_UNDER}:${PORT}`);
    const stats = status['stats'] as Record<string, number>;
    t.is(stats['rxAuthFailed'], 0);
    t.is(stats['rxReplay'], 0);
  },
);

rootTest(
  test,
  'overlay to overlay: a packet from an address the peer does not own is dropped and counted',
  async (t) => {
    const { a, b, na, nb } = await overlayPair(t, 'os');
    t.is(ping(a, '100.64.0.2', 1).received, 1);
    // b sends from 100.64.0.3, an address a's routes give to nobody: a must not deliver it.
    const ifname = nb.events.find((e) => e.event === 'ready')!['ifname'] as string;
    b.ip('addr', 'add', '100.64.0.3/32', 'dev', ifname);
    const spoofed = ping(b, '100.64.0.1', 2, { source: '100.64.0.3' });
    t.is(spoofed.received, 0, spoofed.output);
    const stats = (await na.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
    t.is(stats['rxSourceDenied'], 2, JSON.stringify(stats));
  },
);

async function withWireguardGo(
  t: ExecutionContext,
  tag: string,
  opts: { psk?: boolean; timings?: Record<string, number>; persistentKeepaliveMs?: number },
) {
  const { a, b } = twoHosts(t, tag);
  const ko = newKeys();
  const kw = newKeys();
  const psk = opts.psk ? newKeys().privateKey : undefined;
  const wg = await WireguardGo.start(b, {
    privateKey: kw.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.2/24', 'fd00:6f76::2/64'],
    peers: [
      {
        publicKey: ko.publicKey,
        allowedIps: ['100.64.0.1/32', 'fd00:6f76::1/128'],
        endpoint: `${A_UNDER}:${PORT}`,
        ...(psk ? { presharedKey: psk } : {}),
      },
    ],
  });
  t.teardown(() => wg.stop());
  const node = await startTunnelNode(a, {
    privateKey: ko.privateKey,
    listenPort: PORT,
    addresses: ['100.64.0.1/24', 'fd00:6f76::1/64'],
    timings: opts.timings,
    peers: [
      {
        publicKey: kw.publicKey,
        ...(psk ? { presharedKey: psk } : {}),
        endpoint: { address: B_UNDER, port: PORT },
        allowedIps: ['100.64.0.2/32', 'fd00:6f76::2/128'],
        persistentKeepaliveMs: opts.persistentKeepaliveMs,
      },
    ],
  });
  return { a, b, wg, node, ko, kw };
}

rootTest(test, 'wireguard-go interop: overlay initiates; pings pass both ways', async (t) => {
  const { a, b, wg, ko } = await withWireguardGo(t, 'wi', {});
  const r = ping(a, '100.64.0.2', 3);
  t.is(r.received, 3, r.output);
  t.is(ping(b, '100.64.0.1', 3).received, 3);
  t.is(ping(a, 'fd00:6f76::2', 2).received, 2);
  t.true(wg.peerState(ko.publicKey).latestHandshake > 0);
});

rootTest(test, 'wireguard-go interop: wireguard-go initiates; pings pass both ways', async (t) => {
  const { a, b, node, kw } = await withWireguardGo(t, 'wr', {});
  const r = ping(b, '100.64.0.1', 3);
  t.is(r.received, 3, r.output);
  t.is(ping(a, '100.64.0.2', 3).received, 3);
  const status = await node.request({ cmd: 'status' }, 'status');
  const [peer] = status['peers'] as { handshakes: number; publicKey: string }[];
  t.is(peer!.publicKey, kw.publicKey);
  t.is(peer!.handshakes, 1);
});

rootTest(test, 'wireguard-go interop: with a preshared key', async (t) => {
  const { a, b } = await withWireguardGo(t, 'wp', { psk: true });
  t.is(ping(a, '100.64.0.2', 2).received, 2);
  t.is(ping(b, '100.64.0.1', 2).received, 2);
});

rootTest(test, 'wireguard-go interop: the session survives rekeys without losing pings', async (t) => {
  const { a, node } = await withWireguardGo(t, 'wk', {
    timings: { rekeyAfterTime: 2_000, rekeyTimeout: 1_000 },
  });
  const r = ping(a, '100.64.0.2', 40, { intervalS: 0.2 }); // 8 s: several rekeys at 2 s each
  t.true(r.received >= 39, r.output);
  const [peer] = (await node.request({ cmd: 'status' }, 'status'))['peers'] as { handshakes: number }[];
  t.true(peer!.handshakes >= 3, `handshakes: ${peer!.handshakes}`);
});

for (const [direction, reverse] of [
  ['overlay -> wireguard-go', []],
  ['wireguard-go -> overlay', ['-R']],
] as const) {
  rootTest(
    test,
    `wireguard-go interop: an iperf3 TCP stream ${direction} runs for 3 s without error`,
    async (t) => {
      const { a, b } = await withWireguardGo(t, reverse.length ? 'wv' : 'wt', {});
      const server = b.spawn('iperf3', ['-s', '-1', '-B', '100.64.0.2'], { stdio: 'ignore' });
      t.teardown(() => server.kill('SIGKILL'));
      await new Promise((r) => setTimeout(r, 300));
      const out = a.exec('iperf3', ['-c', '100.64.0.2', '-t', '3', '-J', ...reverse], 30_000);
      const result = JSON.parse(out) as {
        end: { sum_received: { bits_per_second: number; bytes: number } };
        error?: string;
      };
      t.is(result.error, undefined);
      t.true(result.end.sum_received.bytes > 1_000_000, `received ${result.end.sum_received.bytes} bytes`);
      t.log(`iperf3 ${direction}: ${(result.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s`);
    },
  );
}

rootTest(
  test,
  'overlay to overlay: a TCP stream on a clean link loses nothing in the sending TUN, and the data path counts what the device dropped',
  async (t) => {
    const { a, b, na, nb } = await overlayPair(t, 'ol');
    t.is(ping(a, '100.64.0.2', 2).received, 2);
    const ifA = na.events.find((e) => e.event === 'ready')!['ifname'] as string;
    // The node sets the queue, not the kernel's default of 500 (issue 12, point 3).
    const [link] = JSON.parse(a.ip('-j', 'link', 'show', 'dev', ifA)) as { txqlen: number }[];
    t.is(link!.txqlen, 2000);
    const server = b.spawn('iperf3', ['-s', '-1', '-B', '100.64.0.2'], { stdio: 'ignore' });
    t.teardown(() => server.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 300));
    const out = a.exec('iperf3', ['-c', '100.64.0.2', '-t', '4', '-J'], 30_000);
    const result = JSON.parse(out) as {
      end: { sum_received: { bits_per_second: number }; sum_sent: { retransmits: number } };
    };
    const stats = (await na.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
    const kernel = linkCounters(a, ifA).txDropped;
    t.log(
      `${(result.end.sum_received.bits_per_second / 1e6).toFixed(0)} Mbit/s, ${result.end.sum_sent.retransmits} retransmits, ${kernel} TX drops`,
    );
    t.is(stats['tunDeviceDropped'], kernel, "the counter is the kernel's own");
    t.is(kernel, 0, 'the TUN queue overflowed');
    // The offloads carried it: TCP super-packets read and split, their datagrams sent in runs.
    t.true(stats['tunGsoRead']! > 0, JSON.stringify(stats));
    t.true(stats['udpGsoSent']! > 0, JSON.stringify(stats));
    const received = (await nb.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
    t.true(received['udpGroReceived']! > 0, JSON.stringify(received));
    t.true(received['tunGroWritten']! > 0, JSON.stringify(received));
  },
);

// A 1420-byte packet fills the MTU: padding stops there, so its body is not a multiple of 16.
const FULL_V4 = 1420 - 28;
const FULL_V6 = 1420 - 48;

rootTest(test, 'full-MTU packets pass both ways, overlay to overlay and with wireguard-go', async (t) => {
  const oo = await overlayPair(t, 'om');
  t.is(ping(oo.a, '100.64.0.2', 2, { payloadBytes: FULL_V4 }).received, 2);
  t.is(ping(oo.b, '100.64.0.1', 2, { payloadBytes: FULL_V4 }).received, 2);
  t.is(ping(oo.a, 'fd00:6f76::2', 2, { payloadBytes: FULL_V6 }).received, 2);
  const wg = await withWireguardGo(t, 'wm', {});
  t.is(ping(wg.a, '100.64.0.2', 2, { payloadBytes: FULL_V4 }).received, 2);
  t.is(ping(wg.b, '100.64.0.1', 2, { payloadBytes: FULL_V4 }).received, 2);
  t.is(ping(wg.b, 'fd00:6f76::1', 2, { payloadBytes: FULL_V6 }).received, 2);
});

rootTest(
  test,
  'a handshake the data path wanted before its peer had any endpoint starts the moment a path is set',
  async (t) => {
    const { a, na } = await overlayPair(t, 'ow', undefined, { aWithoutEndpoint: true });
    const pinging = a.spawn('ping', ['-n', '-c', '20', '-i', '0.2', '-W', '1', '100.64.0.2'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let output = '';
    pinging.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
    });
    // The first pings ask for a handshake that cannot go anywhere yet; then discovery finds b.
    await new Promise((r) => setTimeout(r, 1000));
    const set = await na.request({ cmd: 'setPath', direct: { address: B_UNDER, port: PORT } }, 'pathSet');
    t.true(set['ok']);
    await new Promise<void>((resolve) => pinging.on('exit', () => resolve()));
    const first = Number(/icmp_seq=(\d+)/.exec(output)?.[1] ?? Number.NaN);
    // Waiting for the 5 s handshake retry instead would answer no ping of these 4 s.
    t.true(first <= 10, `first reply icmp_seq=${first}\n${output}`);
  },
);

rootTest(test, 'roaming: when a peer changes its underlay address, traffic follows it', async (t) => {
  const { a, b, ifB, na } = await overlayPair(t, 'or');
  t.is(ping(a, '100.64.0.2', 2).received, 2);
  b.ip('addr', 'del', `${B_UNDER}/24`, 'dev', ifB);
  b.ip('addr', 'add', '192.0.2.3/24', 'dev', ifB);
  // b's next packet comes from 192.0.2.3; a learns it from that authenticated packet alone.
  t.is(ping(b, '100.64.0.1', 2).received, 2);
  t.is(ping(a, '100.64.0.2', 2).received, 2);
  const [peer] = (await na.request({ cmd: 'status' }, 'status'))['peers'] as { endpoint: string }[];
  t.is(peer!.endpoint, `192.0.2.3:${PORT}`);
});

rootTest(test, 'persistent keepalive: an idle tunnel handshakes and keeps sending keepalives', async (t) => {
  const { wg, ko, node } = await withWireguardGo(t, 'wa', { persistentKeepaliveMs: 1_000 });
  await until(
    'a handshake started by the keepalive',
    () => wg.peerState(ko.publicKey).latestHandshake > 0,
    8_000,
  );
  const before = wg.peerState(ko.publicKey).rx;
  await new Promise((r) => setTimeout(r, 3_200));
  const grown = wg.peerState(ko.publicKey).rx - before;
  // three or so 32-byte keepalives in 3.2 s, and nothing else was sent
  t.true(grown >= 2 * 32 && grown <= 5 * 32, `wireguard-go received ${grown} bytes`);
  const stats = (await node.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
  t.is(stats['txPackets'], 0, 'no data packets, only keepalives from the JavaScript side');
});

rootTest(
  test,
  'forwarding: a node carries a plain WireGuard device it hosts to another peer, and back',
  async (t) => {
    // d (wireguard-go) -- h (overlay) -- c (overlay); d and c share no link and no keys.
    const h = new Netns('fwh');
    t.teardown(() => h.destroy());
    const d = new Netns('fwd');
    t.teardown(() => d.destroy());
    const c = new Netns('fwc');
    t.teardown(() => c.destroy());
    vethPair(h, '192.0.2.1/24', d, '192.0.2.4/24');
    vethPair(h, '198.51.100.1/24', c, '198.51.100.3/24');
    const kh = newKeys();
    const kd = newKeys();
    const kc = newKeys();
    const wg = await WireguardGo.start(d, {
      privateKey: kd.privateKey,
      listenPort: PORT,
      addresses: ['100.64.0.4/16'],
      peers: [{ publicKey: kh.publicKey, allowedIps: ['100.64.0.0/16'], endpoint: `192.0.2.1:${PORT}` }],
    });
    t.teardown(() => wg.stop());
    const nh = await startTunnelNode(h, {
      privateKey: kh.privateKey,
      listenPort: PORT,
      addresses: ['100.64.0.1/16'],
      peers: [
        {
          publicKey: kd.publicKey,
          allowedIps: ['100.64.0.4/32'],
          endpoint: { address: '192.0.2.4', port: PORT },
          forward: true,
        },
        {
          publicKey: kc.publicKey,
          allowedIps: ['100.64.0.3/32'],
          endpoint: { address: '198.51.100.3', port: PORT },
        },
      ],
    });
    await startTunnelNode(c, {
      privateKey: kc.privateKey,
      listenPort: PORT,
      addresses: ['100.64.0.3/16'],
      peers: [
        {
          publicKey: kh.publicKey,
          allowedIps: ['100.64.0.1/32', '100.64.0.4/32'],
          endpoint: { address: '198.51.100.1', port: PORT },
        },
      ],
    });
    const there = ping(d, '100.64.0.3', 3);
    t.is(there.received, 3, there.output);
    t.is(ping(c, '100.64.0.4', 3).received, 3);
    // the host's kernel never saw these packets: its IP forwarding stays off
    t.is(h.exec('sysctl', ['-n', 'net.ipv4.ip_forward']).trim(), '0');
    const stats = (await nh.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
    // 12 packets crossed h; the first waited for h's handshake with c and left with the flush
    t.is(stats['forwarded']! + stats['txStaged']!, 12, JSON.stringify(stats));
    // a ping with TTL 1 would have to be forwarded with TTL 0: dropped and counted
    t.is(ping(d, '100.64.0.3', 1, { ttl: 1 }).received, 0);
    const after = (await nh.request({ cmd: 'status' }, 'status'))['stats'] as Record<string, number>;
    t.is(after['forwardHopLimit'], 1);
  },
);
