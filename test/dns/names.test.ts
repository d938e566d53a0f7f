/**
 * Members' names end to end, as root, in network namespaces: each node's resolver on its overlay
 * address answers the zone from its roster, forwards the rest to the host's own resolver (dnsmasq
 * in another namespace), and follows gossip when a member is kicked.
 */
import test from 'ava';
import { reverseNameOf } from '../../core/dns/zone.js';
import { dig, digUntil, namedNetwork, OUTSIDE_ADDRESS } from '../helpers/namedNetwork.js';
import { everyoneKnowsEveryone, status } from '../helpers/overlayNetwork.js';
import { rootTest } from '../helpers/root.js';

rootTest(
  test,
  "every member's resolver answers the members' names, and other names come from the host's resolver",
  async (t) => {
    const world = await namedNetwork(t, 'dn', ['a', 'b']);
    const [a, b] = world.nodes;
    await everyoneKnowsEveryone([a!, b!], 10_000);
    const [sa, sb] = await Promise.all([status(a!), status(b!)]);
    const [aV4, aV6] = sa.self.addresses as [string, string];
    const [bV4, bV6] = sb.self.addresses as [string, string];
    t.like(sa.self.names, { zone: 'home.internal', resolver: aV4 });
    t.like(
      sb.self.names,
      { zone: 'home.internal', resolver: bV4 },
      'the joiner has the name from its inviter',
    );

    const named = dig(a!.ns, aV4, 'b.home.internal', 'A');
    t.deepEqual([named.status, named.answers, named.aa], ['NOERROR', [bV4], true]);
    t.deepEqual(dig(a!.ns, aV4, 'B.Home.Internal', 'AAAA').answers, [bV6]);
    t.deepEqual(dig(a!.ns, aV4, reverseNameOf(bV4), 'PTR').answers, ['b.home.internal.']);
    t.deepEqual(dig(a!.ns, aV4, reverseNameOf(bV6), 'PTR').answers, ['b.home.internal.']);
    t.is(dig(a!.ns, aV4, 'nobody.home.internal').status, 'NXDOMAIN');
    const nodata = dig(a!.ns, aV4, 'b.home.internal', 'MX');
    t.deepEqual([nodata.status, nodata.answers], ['NOERROR', []], 'NODATA');
    t.deepEqual(dig(a!.ns, aV4, 'outside.test').answers, [OUTSIDE_ADDRESS], 'forwarded to dnsmasq');
    t.deepEqual(dig(b!.ns, bV4, 'a.home.internal', 'AAAA').answers, [aV6]);

    // b asks a's resolver through the tunnel: a member gets the zone, not a forwarder.
    t.deepEqual(dig(b!.ns, aV4, 'a.home.internal').answers, [aV4]);
    t.is(dig(b!.ns, aV4, 'outside.test').status, 'REFUSED');
    // A stranger on the LAN that routes the overlay address to a (Linux takes it in on any
    // interface) gets no answer: the resolver serves this host and the members only.
    world.upstream.ip('route', 'add', `${aV4}/32`, 'via', '192.0.2.1');
    t.is(dig(world.upstream, aV4, 'a.home.internal').status, 'timeout');
    t.true(((await status(a!)).counters['dns.dropped.stranger'] ?? 0) >= 1);
  },
);

rootTest(
  test,
  "a kicked member's name is NXDOMAIN at every other member within a gossip round",
  async (t) => {
    const {
      nodes: [a, b, c],
    } = await namedNetwork(t, 'dk', ['a', 'b', 'c']);
    await everyoneKnowsEveryone([a!, b!, c!], 10_000);
    const bV4 = (await status(b!)).self.addresses[0]!;
    const cV4 = (await status(c!)).self.addresses[0]!;
    t.deepEqual(dig(b!.ns, bV4, 'c.home.internal').answers, [cV4]);
    const kickedAt = Date.now();
    await a!.ok(['kick', 'c']);
    const ms = await digUntil(b!.ns, bV4, 'c.home.internal', (r) => r.status === 'NXDOMAIN', 5_000);
    t.log(
      `b answered NXDOMAIN for c ${Date.now() - kickedAt} ms after the kick (${ms} ms after kick returned)`,
    );
    t.is(dig(b!.ns, bV4, reverseNameOf(cV4), 'PTR').status, 'NXDOMAIN');
    t.deepEqual(dig(b!.ns, bV4, 'a.home.internal').status, 'NOERROR', 'the others stay');
  },
);
