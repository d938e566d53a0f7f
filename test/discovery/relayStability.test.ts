/**
 * Relay routes are backups a member keeps measuring while its direct paths work, once per
 * RELAY_PROBE_ON_DIRECT_MS. Which members serve as a peer's relays must not follow every wobble
 * of their RTTs: a route dropped and added again is probed at once, so relays ranked anew on every
 * tick turned jitter into a stream of probes (found by bench:scale: 48 relayed pings a second per
 * node among 10 nodes at rest, where about 3 were meant).
 */
import test from 'ava';
import { MAX_RELAYS_PER_PEER, RELAY_PROBE_ON_DIRECT_MS } from '../../core/discovery/constants.js';
import { epTexts } from '../helpers/endpoints.js';
import { SimWorld } from './simWorld.js';

const ENVELOPE_TO_RELAY = [0x84, 0];

/** Datagrams `w` sends from now on that are envelopes to a relay, and all of them. */
function countSends(w: SimWorld): { relayed: number; all: number } {
  const count = { relayed: 0, all: 0 };
  const send = w.net.send.bind(w.net);
  w.net.send = (host, dest, bytes) => {
    count.all++;
    if (bytes[0] === ENVELOPE_TO_RELAY[0] && bytes[1] === ENVELOPE_TO_RELAY[1]) count.relayed++;
    return send(host, dest, bytes);
  };
  return count;
}

test('reading unchanged interfaces again, as the node does every 15 s, probes nothing more', (t) => {
  const members = 6;
  const w = new SimWorld(5);
  for (let i = 0; i < members; i++) w.member(`m${i}`, `198.18.0.${i + 1}`);
  w.start();
  w.run(20_000);
  const quiet = countSends(w);
  w.run(80_000);
  const reread = countSends(w);
  for (let at = 80_000; at < 140_000; at += 15_000)
    w.net.at(at, () => {
      for (const m of w.members) w.readLocal(m, epTexts(m.announced));
    });
  w.run(140_000);
  const extra = reread.all - (quiet.all - reread.all);
  t.log(`60 s without re-reading: ${quiet.all - reread.all} datagrams; with: ${reread.all}`);
  // The same 60 s again, the interfaces re-read 4 times: within 10% of the quiet minute.
  t.true(extra <= 0.1 * (quiet.all - reread.all), `${extra} more datagrams`);
});

test('with every path direct and RTTs jittering, each relay route is probed about once per RELAY_PROBE_ON_DIRECT_MS', (t) => {
  const members = 8;
  const w = new SimWorld(11, 1_000, 0, 40);
  for (let i = 0; i < members; i++) w.member(`m${i}`, `198.18.0.${i + 1}`);
  w.start();
  w.run(20_000);
  let relayed = 0;
  const send = w.net.send.bind(w.net);
  w.net.send = (host, dest, bytes) => {
    if (bytes[0] === ENVELOPE_TO_RELAY[0] && bytes[1] === ENVELOPE_TO_RELAY[1]) relayed++;
    return send(host, dest, bytes);
  };
  const seconds = 60;
  w.run(20_000 + seconds * 1000);
  for (const m of w.members)
    for (const p of w.members)
      if (p !== m) t.is(m.discovery.path(p.id).path, 'direct', `${m.name} to ${p.name}`);
  // Each member's relay routes to each peer, a ping every RELAY_PROBE_ON_DIRECT_MS and its pong,
  // with one more round for a route that was due as the window opened.
  const routes = members * (members - 1) * MAX_RELAYS_PER_PEER;
  const bound = routes * 2 * (seconds / (RELAY_PROBE_ON_DIRECT_MS / 1000) + 1);
  t.log(`${relayed} envelopes to relays in ${seconds} s (bound ${bound})`);
  t.true(relayed <= bound, `${relayed} envelopes to relays in ${seconds} s, bound ${bound}`);
});
