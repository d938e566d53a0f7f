/** The 300-member simulation again, with one datagram in ten lost (in a file of its own so AVA runs both at once). */
import test from 'ava';
import { GossipSim, joinAll } from './simulator.js';

test('with 10% datagram loss, 300 members still all learn every certificate within 8 s of the last join', (t) => {
  joinAll(t, new GossipSim({ seed: 2, loss: 0.1 }), '10% loss', 8_000);
});
