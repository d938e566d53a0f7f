import test from 'ava';
import type { ViewStatus } from '../../cli/view/evidence.js';
import { explainPath } from '../../cli/view/pathExplanation.js';
import { statusAt, withPathEvidence } from './fixtures.js';

const member = (s: ViewStatus, name: string) => s.peers.find((p) => p.name === name)!;

test('a relayed member gets the relay, and a hint naming the port to forward', (t) => {
  const s = statusAt(1);
  const { why, hints } = explainPath(member(s, 'charlie'), s);
  t.regex(why.join(' '), /through delta/);
  t.is(hints.length, 1);
  t.regex(hints[0]!, /UDP seems blocked or a NAT maps each destination differently/);
  t.regex(hints[0]!, /forwarding UDP port 51820 to this host/);
});

test('with NAT evidence the hint says which end maps per destination, with its port', (t) => {
  const s = withPathEvidence(statusAt(1));
  const { why, hints } = explainPath(member(s, 'charlie'), s);
  t.regex(why.join(' '), /none of the 2 candidate endpoints tried answered/);
  t.is(hints.length, 1);
  t.regex(hints[0]!, /NAT in front of charlie maps each destination to a different port/);
  t.regex(hints[0]!, /forwarding UDP port 41641 to charlie/);
});

test('a direct member needs no hint', (t) => {
  const s = statusAt(1);
  const { why, hints } = explainPath(member(s, 'bravo'), s);
  t.deepEqual(why, ['direct to 198.51.100.7:51820.']);
  t.deepEqual(hints, []);
});

test('an offline member is asked to be started, not to have ports forwarded', (t) => {
  const s = statusAt(1);
  const { why, hints } = explainPath(member(s, 'echo'), s);
  t.regex(why[0]!, /no handshake with echo has completed/);
  t.deepEqual(hints, ['is echo running? on it: sudo overlay up']);
});

test('a WireGuard device is relayed by design, so nothing is offered to fix', (t) => {
  const s = statusAt(1);
  const phone = { ...member(s, 'charlie'), name: 'phone', kind: 'wireguard' as const, via: 'bravo' };
  const { why, hints } = explainPath(phone, s);
  t.regex(why[0]!, /plain WireGuard device hosted by bravo/);
  t.deepEqual(hints, []);
});

test('heavy loss on the path in use is pointed out', (t) => {
  const s = statusAt(1);
  const lossy = { ...member(s, 'bravo'), lossPct: 12 };
  t.regex(explainPath(lossy, s).hints.join(' '), /12% of probes on this path are lost/);
});

test('a member whose clock is too far off is explained first, with the skew and what to do', (t) => {
  const s = statusAt(1);
  const skewed = { ...member(s, 'bravo'), clockSkewMs: -95_000 };
  const e = explainPath(skewed, s);
  t.is(
    e.why[0],
    "bravo's clock is 95 s behind this node's, so its messages are refused (overlay allows 60 s).",
  );
  t.regex(e.hints.join(' '), /enable NTP/);
});
