/**
 * What status says of one route (PathEvidence.state): "no answer" only once a probe went
 * unanswered; a route whose last probe was answered long ago, and that was not asked since, is idle.
 */
import test from 'ava';
import type { PeerId } from '../../core/base/keys.js';
import { EVIDENCE_FRESH_MS, PONG_TIMEOUT_MS } from '../../core/discovery/constants.js';
import { directRoute, PathEvidence } from '../../core/discovery/pathEvidence.js';
import { ep } from '../helpers/endpoints.js';

const PEER = 'peer' as PeerId;

function route() {
  return new PathEvidence(directRoute(ep('198.51.100.7:51820'), 'reflexive'), 'announced', 0, PEER);
}

test('an answered route not asked since is idle, however old the answer; a lost probe makes it "no answer"', (t) => {
  const e = route();
  t.is(e.state(0), 'untried');
  e.sent(0);
  e.answered(2.5, 3);
  t.is(e.state(1_000), 'ok');
  t.is(e.state(3 + EVIDENCE_FRESH_MS + 1), 'idle', 'the answer is stale, but nothing went unanswered');
  t.is(e.describe(50_000).state, 'idle');
  t.is(e.describe(50_000).lastAnswerAgeMs, 49_997);
  // A probe on its way is not yet unanswered.
  e.sent(50_000);
  t.is(e.state(50_000 + PONG_TIMEOUT_MS / 2), 'idle');
  e.lost();
  t.is(e.state(51_000), 'no-answer', 'this one was asked, and did not answer');
  e.sent(52_000);
  e.answered(2.4, 52_002);
  t.is(e.state(52_010), 'ok');
});

test('a route that never answered is "no answer" once tried; after the peer left, "no answer" too', (t) => {
  const e = route();
  e.sent(0);
  e.lost();
  t.is(e.state(10), 'no-answer');
  const f = route();
  f.sent(0);
  f.answered(1, 1);
  f.forget();
  t.is(f.state(5), 'no-answer', 'what it answered before the bye says nothing of it now');
});

test("the peer's pings from a direct route are reported with their age", (t) => {
  const e = route();
  t.is(e.describe(0).lastHeardAgeMs, undefined);
  e.heardAt = 40_000;
  t.is(e.describe(43_000).lastHeardAgeMs, 3_000);
});
