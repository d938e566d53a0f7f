/**
 * A member that goes offline without a word (issue 15, point 4). Its peers used to alternate its
 * path between two relays about once a second for as long as it stayed away ("path to i4Th1zMV:
 * relay via z3OOiUwd (relay-lost)", 690 log lines in 12 minutes), each switch a log line and a
 * burst of probes. A path whose relays have all stopped answering is no path: it is said once.
 */

import test from 'ava';
import { peerId } from '../../core/base/keys.js';
import { ep } from '../helpers/endpoints.js';
import { SimWorld } from './simWorld.js';

test('a relayed peer that goes offline: one change to no path, said once, not a relay swap every second', (t) => {
  const w = new SimWorld(7);
  // a and b behind NATs that map per destination: they reach each other only through r1 or r2.
  const a = w.member('a', '192.0.2.10', w.nat('na', '203.0.113.1', 'endpoint-dependent'));
  const b = w.member('b', '192.0.2.20', w.nat('nb', '203.0.113.2', 'endpoint-dependent'));
  w.member('r1', '198.51.100.1');
  w.member('r2', '198.51.100.2');
  w.start();
  w.run(30_000);
  t.is(a.discovery.path(b.id).path, 'relay', 'a reaches b through a relay');
  w.goOffline(b);
  const wentAt = w.net.now;
  const minutes = 12;
  w.run(wentAt + minutes * 60_000);
  const after = a.changes.filter((c) => c.peer === b.id && c.at > wentAt);
  t.log(
    after.map(
      (c) =>
        `${(c.at - wentAt) / 1000}s ${c.path}${c.path === 'relay' ? ` via ${c.via.slice(0, 4)}` : ''} (${c.reason})`,
    ),
  );
  t.true(after.length <= 3, `${after.length} path changes in ${minutes} minutes`);
  t.is(a.discovery.path(b.id).path, 'none', 'b shows as having no path');
  t.is(after.at(-1)?.reason, 'unreachable');

  // Back after the break: found again without anyone being told.
  w.goOnline(b);
  const backAt = w.net.now;
  w.run(backAt + 60_000);
  const found = a.changes.find((c) => c.peer === b.id && c.at > backAt && c.path !== 'none');
  t.truthy(found, 'a finds b again');
  t.log(`found again after ${((found?.at ?? Number.NaN) - backAt) / 1000} s (${found?.reason})`);
  t.true((found?.at ?? Number.POSITIVE_INFINITY) - backAt <= 30_000);
});

test('a direct peer that goes offline: at most a try of a relay, then no path', (t) => {
  const w = new SimWorld(8);
  const a = w.member('a', '198.51.100.10');
  const b = w.member('b', '198.51.100.20');
  w.member('r1', '198.51.100.1');
  w.member('r2', '198.51.100.2');
  w.start();
  w.run(30_000);
  t.is(a.discovery.path(b.id).path, 'direct');
  w.goOffline(b);
  const wentAt = w.net.now;
  w.run(wentAt + 12 * 60_000);
  const after = a.changes.filter((c) => c.peer === b.id && c.at > wentAt);
  t.true(after.length <= 3, after.map((c) => `${c.path} (${c.reason})`).join(', '));
  t.is(a.discovery.path(b.id).path, 'none');
});

test('a bye moves only its sender to no path; one from a key that is not a member changes nothing', (t) => {
  // Strangers and kicked members never get this far: their sealed datagrams are dropped before
  // any key work (overlayInbox.test.ts), and a kicked member's path is gone (twins kick scenario).
  // What reaches discovery is a member speaking of itself; it keeps no state per bye.
  const w = new SimWorld(9);
  const a = w.member('a', '198.51.100.10');
  const b = w.member('b', '198.51.100.20');
  const r = w.member('r', '198.51.100.1');
  w.start();
  w.run(30_000);
  const now = w.net.now;
  const stranger = peerId(new Uint8Array(32).fill(0xee));
  const ignored = a.discovery.receive(
    stranger,
    { kind: 'bye' },
    { endpoint: ep('198.51.100.99:51820') },
    now,
  );
  t.false(ignored.events.some((e) => e.type === 'pathChanged'));
  t.is(a.discovery.path(b.id).path, 'direct');
  const out = a.discovery.receive(b.id, { kind: 'bye' }, { endpoint: ep('198.51.100.20:51820') }, now);
  t.like(
    out.events.find((e) => e.type === 'pathChanged'),
    { peer: b.id, path: 'none', reason: 'peer-left' },
  );
  t.is(a.discovery.path(r.id).path, 'direct', 'the others keep their paths');
});
