/** 300 members join one after another and gossip until every member holds every certificate. */
import test from 'ava';
import { GossipSim, joinAll } from './simulator.js';

test('300 members joining one after another all learn every certificate within 5 s of the last join', (t) => {
  joinAll(t, new GossipSim({ seed: 1 }), 'no loss', 5_000);
});
