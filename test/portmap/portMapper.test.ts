/**
 * The port mapper against a router played in memory (test/twins/fakeRouter.ts): every protocol is
 * asked at once, the best that maps is used (PCP > NAT-PMP > UPnP), strangers are counted and not
 * believed, the mapping is deleted on stop, and a new gateway is asked afresh.
 */
import test from 'ava';
import { PortMapper, type PortMapperOptions } from '../../core/portmap/portMapper.js';
import { FakeRouter } from '../twins/fakeRouter.js';

async function until(what: string, ok: () => boolean, ms = 6000): Promise<void> {
  const start = Date.now();
  while (!ok()) {
    if (Date.now() - start > ms) throw new Error(`not in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function mapper(router: FakeRouter, o: Partial<PortMapperOptions> = {}) {
  const changes: string[][] = [];
  const m = new PortMapper({
    io: router,
    port: 51820,
    log: () => {},
    changed: () => changes.push(m.mapped),
    ...o,
  });
  m.checkNetwork();
  return { m, changes };
}

test('all three answer: PCP is used and the others stand down', async (t) => {
  const router = new FakeRouter();
  const { m, changes } = mapper(router);
  await until('PCP mapped', () => m.status().mapped?.protocol === 'pcp');
  await until('UPnP asked too', () => m.status().protocols.every((p) => p.state !== 'asking'));
  t.deepEqual(m.mapped, ['203.0.113.5:51820']);
  const states = Object.fromEntries(m.status().protocols.map((p) => [p.protocol, p.state]));
  t.is(states['pcp'], 'mapped 203.0.113.5:51820');
  t.is(states['nat-pmp'], 'not used: a better one mapped');
  t.is(states['upnp'], 'not used: a better one mapped');
  t.deepEqual(changes.at(-1), ['203.0.113.5:51820']);
  await m.stop();
});

test('only UPnP answers: it maps, after PCP and NAT-PMP go unanswered', async (t) => {
  const router = new FakeRouter({ offer: { pcp: false, natPmp: false } });
  const { m } = mapper(router);
  await until('UPnP mapped', () => m.status().mapped?.protocol === 'upnp');
  t.true(router.requests.some((r) => r.action === 'AddPortMapping' && r.body?.includes('198.18.77.10')));
  await until(
    'the others gave up',
    () => m.status().protocols.filter((p) => p.state.startsWith('failed')).length === 2,
  );
  await m.stop();
  t.true(
    router.requests.some((r) => r.action === 'DeletePortMapping'),
    'stop deletes the UPnP mapping',
  );
});

test('stop deletes the PCP mapping: the same nonce, lifetime 0', async (t) => {
  const router = new FakeRouter({ offer: { natPmp: false, upnp: false } });
  const { m } = mapper(router, { protocols: ['pcp'] });
  await until('mapped', () => m.mapped.length === 1);
  const request = router.sent.find((s) => s.data[0] === 2)!;
  await m.stop();
  const last = router.sent.at(-1)!;
  t.is(last.to, '198.18.77.1');
  t.is(new DataView(last.data.buffer).getUint32(4), 0, 'lifetime 0');
  t.deepEqual(last.data.subarray(24, 36), request.data.subarray(24, 36), 'the same nonce');
});

test("a stranger's answer is counted and not believed", async (t) => {
  const router = new FakeRouter({ offer: { pcp: false, natPmp: false, upnp: false } });
  const { m } = mapper(router, { protocols: ['nat-pmp'] });
  await until('socket open', () => router.sockets.length > 0);
  // A whole forged NAT-PMP answer: external address and mapping, from another host on the LAN.
  const address = Uint8Array.from([0, 128, 0, 0, 0, 0, 0, 9, 203, 0, 113, 66]);
  const mapping = Uint8Array.from([0, 129, 0, 0, 0, 0, 0, 9, 0xca, 0x6c, 0xca, 0x6c, 0, 0, 0x1c, 0x20]);
  const asking = router.sockets[0]!;
  for (const d of [address, mapping]) asking.deliver(d, { address: '198.18.77.66', port: 5351 });
  await until('counted', () => m.status().junk >= 2);
  t.is(m.status().mapped, null);
  await m.stop();
});

test('an SSDP answer pointing elsewhere is not followed', async (t) => {
  const router = new FakeRouter({ offer: { pcp: false, natPmp: false, upnp: false } });
  const { m } = mapper(router, { protocols: ['upnp'] });
  await until('searching', () => router.sockets.length > 0);
  const lure = new TextEncoder().encode('HTTP/1.1 200 OK\r\nLOCATION: http://203.0.113.99/desc.xml\r\n\r\n');
  for (const s of router.sockets) s.deliver(lure, { address: '198.18.77.1', port: 1900 });
  await until('given up', () => m.status().protocols[0]!.state.startsWith('failed'));
  t.false(router.requests.some((r) => r.url.includes('203.0.113.99')));
  await m.stop();
});

test('a new gateway is asked afresh; no default route, no mapping', async (t) => {
  const router = new FakeRouter({ offer: { natPmp: false, upnp: false } });
  const { m, changes } = mapper(router, { protocols: ['pcp'] });
  await until('mapped', () => m.mapped.length === 1);
  router.route = undefined;
  m.checkNetwork();
  t.deepEqual(m.mapped, []);
  t.is(m.status().gateway, null);
  t.deepEqual(changes.at(-1), [], 'the mapping left the announcement');
  router.route = { iface: 'eth0', gateway: '198.18.77.1' };
  m.checkNetwork();
  await until('mapped again', () => m.mapped.length === 1);
  await m.stop();
});
