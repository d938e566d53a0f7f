/**
 * One hard side (issue 13, point 3), as root, in namespaces: a member behind a port-keeping NAT and
 * one behind a NAT that maps every destination to a new random port (MASQUERADE --random-fully, no
 * port mapping) go direct by birthday probing, and the hard side's traffic to the easy one then
 * leaves from, and arrives on, the extra socket whose hole won (the data path's counters say so).
 * Two hard sides stay relayed and neither sends a probe. Two public members give every node the
 * two vantage points its NAT's classification needs.
 */
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { waitUntil } from '../core/daemon/wait.js';
import { FILTER_KNOCK_WAIT_MS } from '../core/discovery/filterTest.js';
import type { NodeStatus } from '../core/node/status.js';
import { OverlayHost } from './helpers/lan.js';
import { twoPublicMembers } from './helpers/natMesh.js';
import { joinVia, pathWithin } from './helpers/natWorld.js';
import { polledStatus } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

/** Easy side to direct, at most: BIRTHDAY_AFTER_MS, the steps, 2048 probes at 100/s and a grace. */
const DIRECT_WITHIN_MS = 40_000;

const world = (t: ExecutionContext, tag: string) => twoPublicMembers(t, tag);

async function counters(host: OverlayHost): Promise<Record<string, number>> {
  return (await host.json<NodeStatus>(['status'])).counters;
}

rootTest(
  test,
  'a port-keeping and a per-destination NAT go direct by birthday probing, on the winning socket',
  async (t) => {
    const { w, root, p } = await world(t, 'bd');
    const e = new OverlayHost(w.nat('nate', '203.0.113.1').host('e'), join(root, 'e'));
    const h = new OverlayHost(w.nat('nath', '203.0.113.2', { randomFully: true }).host('h'), join(root, 'h'));
    await Promise.all([joinVia(p, e, 'e'), joinVia(p, h, 'h')]);
    const upAt = Date.now();
    const ms = await pathWithin(e, 'h', DIRECT_WITHIN_MS, (x) => x.path === 'direct');
    const hToE = await pathWithin(h, 'e', 5_000, (x) => x.path === 'direct');
    const eStatus = await e.json<NodeStatus>(['status']);
    const toH = eStatus.peers.find((x) => x.name === 'h')!;
    const easy = eStatus.counters;
    const hard = await counters(h);
    t.log(
      `e -> h direct ${ms} ms after both were up (h -> e ${hToE} ms later); ` +
        `probes ${easy['discovery.birthdayProbes']}, holes ${hard['discovery.birthdayHoles']}`,
    );
    // The hard NAT's address, at a port it picked for one of h's holes.
    t.regex(toH.endpoint!, /^203\.0\.113\.2:\d+$/);
    t.true(easy['discovery.birthdayProbes']! >= 1 && easy['discovery.birthdayProbes']! <= 2048);
    t.is(hard['discovery.birthdayDirect'], 1);
    // One extra socket: the winning hole. A filter test h helps (filterTest.ts) opens one more for
    // FILTER_KNOCK_WAIT_MS, so the count may read 2 for those seconds; 256 losing holes never close.
    let extra = hard['extraSockets'];
    await waitUntil(
      async () => {
        extra = (await counters(h))['extraSockets'];
        return extra === 1;
      },
      FILTER_KNOCK_WAIT_MS + 1_000,
      200,
    );
    t.is(extra, 1, 'the losing holes are closed, the winner kept');
    // Traffic both ways through the tunnel: on h it leaves from and arrives on the winning socket.
    const before = await counters(h);
    const pBefore = await counters(p);
    const eAddr = (await h.json<NodeStatus>(['status'])).peers.find((x) => x.name === 'e')!.addresses[0]!;
    const r = ping(h.ns, eAddr, 100, { intervalS: 0.02 });
    t.true(r.received >= 95, r.output);
    const after = await counters(h);
    const tx = after['extraSocketTxPackets']! - before['extraSocketTxPackets']!;
    const rx = after['extraSocketRxPackets']! - before['extraSocketRxPackets']!;
    t.log(`100 pings h -> e: the winning socket sent ${tx} and received ${rx} datagrams`);
    t.true(tx >= 95 && rx >= 95, `tx ${tx} rx ${rx}`);
    // Through p the pings would be 200 envelopes; what p carries are the probes of the relay route.
    const relayed = (await counters(p))['relayForwarded']! - pBefore['relayForwarded']!;
    t.true(relayed < 20, `p relayed ${relayed} envelopes`);
    t.true(Date.now() - upAt < DIRECT_WITHIN_MS + 20_000);
  },
);

rootTest(test, 'two per-destination NATs stay relayed and send no birthday probe', async (t) => {
  const { w, root, p } = await world(t, 'bh');
  const a = new OverlayHost(w.nat('nata', '203.0.113.1', { randomFully: true }).host('a'), join(root, 'a'));
  const b = new OverlayHost(w.nat('natb', '203.0.113.2', { randomFully: true }).host('b'), join(root, 'b'));
  await Promise.all([joinVia(p, a, 'a'), joinVia(p, b, 'b')]);
  await pathWithin(a, 'b', 10_000, (x) => x.path === 'relay');
  // Each side offers an attempt (BIRTHDAY_AFTER_MS) and has it refused, within the 12 s this test
  // has always allowed; neither tries again before BIRTHDAY_BACKOFF_MS (60 s), so what is true
  // then stays true.
  const refused = async (host: OverlayHost) => {
    const c = (await polledStatus(host)).counters;
    return c['discovery.birthdayAttempts']! >= 1 && c['discovery.birthdayRefused']! >= 1;
  };
  await waitUntil(async () => (await refused(a)) && (await refused(b)), 12_000, 100);
  for (const [host, peer] of [
    [a, 'b'],
    [b, 'a'],
  ] as const) {
    const s = await host.json<NodeStatus>(['status']);
    t.is(s.peers.find((x) => x.name === peer)?.path, 'relay', peer);
    const c = s.counters;
    t.log(
      `${peer}: attempts ${c['discovery.birthdayAttempts']}, refused ${c['discovery.birthdayRefused']}, probes ${c['discovery.birthdayProbes']}, holes ${c['discovery.birthdayHoles']}`,
    );
    t.true(c['discovery.birthdayAttempts']! >= 1, 'each side offered');
    t.true(c['discovery.birthdayRefused']! >= 1, "and refused the other's offer");
    t.is(c['discovery.birthdayProbes'], 0);
    t.is(c['discovery.birthdayHoles'], 0);
    t.is(c['extraSockets'], 0);
  }
});
