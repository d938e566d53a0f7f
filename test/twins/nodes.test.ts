/**
 * Whole nodes without root (issue 11, point 2): real OverlayNodes — membership, gossip, discovery,
 * the tunnel's handshakes — on memory twins of the TUN device and the data path, over a simulated
 * internet with NATs (nodeWorld.ts). What needs a kernel (real TUN, real NAT, interop with
 * wireguard-go) stays in the namespace tests.
 */
import test from 'ava';
import { keyOf, knows, NodeWorld, packetArrives, waitFor } from './nodeWorld.js';

test('a member joins by invite, both learn each other, and packets cross the tunnel directly', async (t) => {
  const w = new NodeWorld(t);
  const a = w.found('a', w.machine('a', '203.0.113.1'));
  const b = await w.join('b', w.machine('b', '198.51.100.2'), a);
  await waitFor('a and b to know each other', 10_000, () => knows(a, b) && knows(b, a));
  await packetArrives(b, a, 10_000);
  await packetArrives(a, b, 10_000);
  t.is(a.node.tunnel.peerRelay(b.node.identity.keys.wireguard.publicKey), undefined);
  t.is(a.node.paths.directEndpoint(keyOf(b)), '198.51.100.2:51820');
  t.is(b.node.paths.directEndpoint(keyOf(a)), '203.0.113.1:51820');
});
