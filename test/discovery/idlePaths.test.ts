/**
 * Idle paths (issue 12, point 5): a path that carries no traffic is only kept open, with one ping
 * and its pong per IDLE_HEARTBEAT_MS between the two ends, not a ping from each; and traffic that
 * starts again has its path checked at once.
 */
import test from 'ava';
import { IDLE_HEARTBEAT_MS } from '../../core/discovery/constants.js';
import { SimWorld } from './simWorld.js';

function pair() {
  const w = new SimWorld(3);
  const a = w.member('a', '198.51.100.1');
  const b = w.member('b', '198.51.100.2');
  w.start();
  w.run(20_000);
  w.setActive(a, b, false);
  w.setActive(b, a, false);
  w.run(40_000);
  let sent = 0;
  const send = w.net.send.bind(w.net);
  w.net.send = (host, dest, bytes) => {
    sent++;
    return send(host, dest, bytes);
  };
  return { w, a, b, sent: () => sent };
}

test('an idle direct path: one ping and one pong per keepalive period between both ends', (t) => {
  const { w, a, b, sent } = pair();
  const seconds = 200;
  w.run(40_000 + seconds * 1000);
  // A period is 80-100% of IDLE_HEARTBEAT_MS: 8 to 10 of them. A ping from each end would be four
  // datagrams a period (32-40); one end's ping and the pong, two.
  const fewest = (seconds * 1000) / IDLE_HEARTBEAT_MS;
  const most = (seconds * 1000) / (0.8 * IDLE_HEARTBEAT_MS);
  t.log(`${sent()} datagrams in ${seconds} s`);
  t.true(sent() >= 2 * (fewest - 1) && sent() <= 2 * (most + 1), `${sent()} datagrams`);
  t.is(a.discovery.path(b.id).path, 'direct');
  t.is(b.discovery.path(a.id).path, 'direct');
});

test('when traffic starts on an idle path, it is pinged at once', (t) => {
  const { w, a, b, sent } = pair();
  w.run(45_000);
  const before = sent();
  w.setActive(a, b, true);
  w.run(45_100);
  // a's ping on the path in use (and to the relay-less alternatives: none here), and b's pong.
  t.true(sent() >= before + 2, `${sent() - before} datagrams within 100 ms`);
});

/**
 * What status says of an idle path (the view's "no answer 50s ago" on a working one): its own
 * pings are 20-25 s apart, and the peer's may replace them for rounds on end, so its last answer
 * can be a minute old. That is idle, not unanswered; and the path's evidence, an answer to us or
 * a ping from the peer on it, is never older than a keepalive period.
 */
test('an idle direct path is reported idle, never "no answer", and its last word either way is at most a period old', (t) => {
  const { w, a, b } = pair();
  const seen = { idle: 0, ok: 0, other: [] as string[], oldestWordMs: 0 };
  for (let at = 41_000; at <= 240_000; at += 500) {
    w.run(at);
    for (const [m, peer] of [
      [a, b],
      [b, a],
    ] as const) {
      const s = m.discovery.snapshot(peer.id, w.net.now)!;
      t.is(s.path, 'direct');
      const inUse = s.candidates.find((c) => c.endpoint === s.endpoint)!;
      if (inUse.state === 'idle') seen.idle++;
      else if (inUse.state === 'ok') seen.ok++;
      else seen.other.push(`${m.name} at ${at}: ${inUse.state}`);
      const word = Math.min(inUse.lastAnswerAgeMs ?? Infinity, inUse.lastHeardAgeMs ?? Infinity);
      seen.oldestWordMs = Math.max(seen.oldestWordMs, word);
    }
  }
  t.log(`samples: ${seen.ok} ok, ${seen.idle} idle; oldest word on the path ${seen.oldestWordMs} ms`);
  t.deepEqual(seen.other, [], 'the path in use is never said to be unanswered');
  t.true(seen.idle > 0, 'an idle path goes past the freshness of its evidence');
  t.true(seen.oldestWordMs <= IDLE_HEARTBEAT_MS + 1_000, `${seen.oldestWordMs} ms`);
});
