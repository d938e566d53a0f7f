/**
 * A member that starts again (kill -9, then up) comes back with a new relay epoch, and its peers
 * learn it only when its new endpoint record reaches them by gossip. Until then nothing relayed
 * between them opens, so the restarted member's first burst of probes through the relay goes
 * unanswered. Found by the namespace test of relayed restarts (relayRestart.test.ts), which failed
 * once in CI under load: its peer's pings got no reply for 5 s. With the record slower than the
 * burst, the restarted member had no path until its next round of alternatives, 3–4.5 s later.
 * Now the peer that learns the new epoch probes at once, and a ping through a relay route not yet
 * known to work is answered with a ping back the same way (as a direct one already was).
 */
import test from 'ava';
import { SimWorld } from './simWorld.js';

/** b and c behind per-destination NATs, relayed through p; both settled on the relay. */
function relayedWorld(seed: number) {
  const w = new SimWorld(seed);
  const p = w.member('p', '198.51.100.1');
  const b = w.member('b', '192.0.2.10', w.nat('nb', '203.0.113.2', 'endpoint-dependent'));
  const c = w.member('c', '192.0.2.20', w.nat('nc', '203.0.113.3', 'endpoint-dependent'));
  w.start();
  w.run(30_000);
  return { w, p, b, c };
}

for (const learnedAfterMs of [300, 2_500, 4_000]) {
  test(`a restarted member whose new epoch reaches its peer after ${learnedAfterMs} ms is relayed again within 0.5 s of that`, (t) => {
    const { w, p, b, c } = relayedWorld(21);
    t.is(b.discovery.path(c.id).path, 'relay');
    const restartAt = w.net.now;
    w.restart(b, learnedAfterMs);
    const learnedAt = restartAt + learnedAfterMs;
    w.run(learnedAt + 10_000);
    const back = w.firstPath(b, c, 'relay', restartAt);
    t.truthy(back, 'b finds its relay to c again');
    t.is(back?.path === 'relay' ? back.via : undefined, p.id);
    const ms = (back?.at ?? Number.POSITIVE_INFINITY) - learnedAt;
    t.log(`b relayed to c again ${ms} ms after c learned b's new epoch`);
    t.true(ms <= 500, `${ms} ms`);
    t.is(c.discovery.path(b.id).path, 'relay', "c's path to b is the relay throughout");
  });
}
