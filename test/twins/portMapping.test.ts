/**
 * A whole node behind a router that maps ports (played by fakeRouter.ts), on the memory twins: the
 * mapped address goes into its endpoint record right after any --endpoint one, status says which
 * protocol maps which port, and stopping with a farewell (down) deletes the mapping.
 */
import test from 'ava';
import { nodeStatus } from '../../core/node/status.js';
import { FakeRouter } from './fakeRouter.js';
import { keyOf, NodeWorld } from './nodeWorld.js';
import { settle } from './scenarioClock.js';

test.serial(
  'a node behind a mapping router announces the mapped address and releases it on down',
  async (t) => {
    const w = new NodeWorld(t);
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const router = new FakeRouter({ external: '198.51.100.2', offer: { natPmp: false, upnp: false } });
    const nat = w.nat('nb', '198.51.100.2', 'endpoint-dependent');
    const b = await w.join('b', w.machine('b', '198.18.0.2', nat), a, { portMap: router });
    await w.until('b mapped', 10_000, () => b.node.portMapper?.mapped.length === 1);
    const self = nodeStatus(b.node).self;
    t.like(self.portMapping?.mapped, {
      protocol: 'pcp',
      external: '198.51.100.2:51820',
      internalPort: 51820,
    });
    t.is(self.endpoints[0], '198.51.100.2:51820', 'announced first (no --endpoint given)');
    // a learns it from b's signed endpoint record.
    await w.until('a holds the mapped address for b', 10_000, () =>
      (a.node.peers.get(keyOf(b))?.member.endpoints ?? []).includes('198.51.100.2:51820'),
    );
    t.is(nodeStatus(a.node).self.portMapping, undefined, 'no router offered a: no port mapping shown');
    const before = router.sent.length;
    // The simulated clock moves only while the world waits.
    await settle(w.clock, b.node.stopWithFarewell());
    const deleted = router.sent.slice(before).find((s) => s.data[0] === 2);
    t.truthy(deleted, 'down sent PCP a delete');
    t.is(new DataView(deleted!.data.buffer).getUint32(4), 0, 'lifetime 0');
  },
);
