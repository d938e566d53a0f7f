import test from 'ava';
import type { ViewStatus } from '../../cli/view/evidence.js';
import { headerLines } from '../../cli/view/headerLines.js';
import { STEP_MS, statusAt, T0, withPathEvidence } from './fixtures.js';
import { mount } from './harness.js';
import { assertItemsWhole, crowdedHeader } from './headerItems.js';

test('the header names this node, its addresses, endpoints, port and uptime', (t) => {
  t.deepEqual(headerLines(statusAt(0), T0, T0, 100), [
    'alpha  100.64.0.1  fd5a:1f00:0:1::1  up 2h03m  admin',
    'endpoints 192.0.2.10:51820, 198.18.0.10:51820  UDP 51820 on ovl0',
  ]);
});

test('uptime counts on between statuses, since the stream does not send one for uptime alone', (t) => {
  const [first] = headerLines(statusAt(0), T0, T0 + 125 * STEP_MS, 100);
  t.regex(first!, /up 2h05m/);
});

test('the NAT type shows once the node reports it', (t) => {
  const lines = headerLines(withPathEvidence(statusAt(0)), T0, T0, 120);
  t.regex(lines[1]!, /NAT endpoint-independent$/);
});

test('a narrow terminal breaks the header between items, not inside one', (t) => {
  t.deepEqual(headerLines(statusAt(0), T0, T0, 60), [
    'alpha  100.64.0.1  fd5a:1f00:0:1::1  up 2h03m  admin',
    'endpoints 192.0.2.10:51820, 198.18.0.10:51820',
    'UDP 51820 on ovl0',
  ]);
});

test('--no-relay and the --stun servers show in the header, with what each server sees', (t) => {
  const s = statusAt(0);
  const lines = headerLines(
    {
      ...s,
      self: {
        ...s.self,
        relay: false,
        stun: [
          { server: 'stun.example.net:3478', resolved: '203.0.113.20:3478', reflexive: '192.0.2.10:40001' },
          { server: '203.0.113.21:3478', resolved: '203.0.113.21:3478', reflexive: null },
        ],
      },
    },
    T0,
    T0,
    200,
  );
  t.regex(
    lines[1]!,
    /relays for no one {2}STUN stun\.example\.net:3478 sees 192\.0\.2\.10:40001 {2}STUN 203\.0\.113\.21:3478 no answer$/,
  );
});

test("the names show in the header: the zone, the resolver, and what became of the host's DNS", (t) => {
  const s = statusAt(0);
  const withNames = (names: NonNullable<typeof s.self.names>) =>
    headerLines({ ...s, self: { ...s.self, names } }, T0, T0, 200)[1]!;
  const base = { zone: 'home.internal', resolver: '100.64.0.1', upstreams: ['192.0.2.53:53'] };
  t.regex(
    withNames({ ...base, host: { mode: 'resolv.conf', path: '/etc/resolv.conf' } }),
    /names \*\.home\.internal at 100\.64\.0\.1 \(\/etc\/resolv\.conf\)$/,
  );
  t.regex(
    withNames({ ...base, host: { mode: 'resolved', interface: 'ovl0' } }),
    /\(systemd-resolved on ovl0\)$/,
  );
  t.regex(withNames({ ...base, host: { mode: 'off' } }), /\(host DNS left alone \(--no-dns\)\)$/);
  t.regex(
    withNames({ ...base, resolver: null, error: 'bind EADDRINUSE', host: { mode: 'unchanged', why: 'x' } }),
    /names home\.internal: no resolver \(bind EADDRINUSE\)$/,
  );
});

test('the NAT classification shows in the header: mapping, port, how many saw it, port mapping', (t) => {
  const s = statusAt(0);
  const withNat = (nat: NonNullable<ViewStatus['self']['nat']>) =>
    headerLines({ ...s, self: { ...s.self, natType: nat.mapping, nat } }, T0, T0, 200)[1]!;
  const base = { portTakenToward: 0, portMapping: null } as const;
  t.regex(
    withNat({ ...base, mapping: 'endpoint-independent', portKept: true, vantagePoints: 3 }),
    /NAT endpoint-independent, port kept$/,
  );
  t.regex(
    withNat({
      ...base,
      mapping: 'endpoint-dependent',
      portKept: false,
      vantagePoints: 2,
      portMapping: 'upnp',
    }),
    /NAT a port per destination, port changed, UPnP maps a port$/,
  );
  t.regex(
    withNat({ ...base, mapping: 'unknown', portKept: false, vantagePoints: 1 }),
    /NAT port changed, seen by 1 vantage point \(2 tell the mapping\)$/,
  );
  t.regex(
    withNat({ ...base, mapping: 'unknown', portKept: null, vantagePoints: 0 }),
    /NAT not measured yet$/,
  );
  t.regex(withNat({ ...base, mapping: 'none', portKept: null, vantagePoints: 1 }), /NAT none$/);
  // The filter test (core/discovery/filterTest.ts): said once it concluded, not before.
  const eim = { ...base, mapping: 'endpoint-independent', portKept: true, vantagePoints: 2 } as const;
  t.regex(withNat({ ...eim, filtering: 'open' }), /NAT endpoint-independent, port kept, inbound open$/);
  t.regex(
    withNat({ ...eim, filtering: 'filtered' }),
    /NAT endpoint-independent, port kept, inbound filtered$/,
  );
  t.regex(
    withNat({ ...eim, filtering: 'firewall' }),
    /NAT endpoint-independent, port kept, inbound filtered, firewall$/,
  );
  t.regex(
    withNat({ ...eim, filtering: 'no-firewall' }),
    /NAT endpoint-independent, port kept, inbound filtered, no firewall$/,
  );
  t.regex(withNat({ ...eim, filtering: null }), /NAT endpoint-independent, port kept$/);
});

test('a crowded header keeps every item whole at 60 and 180 columns (no item spelt out letter by letter)', (t) => {
  const { status, items } = crowdedHeader();
  for (const width of [60, 180]) {
    const lines = headerLines(status, T0, T0, width);
    assertItemsWhole(t, lines, items, width);
    // The whole header is the items and the two-space gaps between them, nothing more.
    const chars = lines.join('').replace(/\s/g, '').length;
    t.is(chars, items.join('').replace(/\s/g, '').length, lines.join('\n'));
  }
  t.is(headerLines(status, T0, T0, 180).length, 3, 'at 180 columns: the first line, and two of facts');
});

test('on screen too: the crowded header keeps its items whole at 60 and 180 columns', async (t) => {
  const { status, items } = crowdedHeader();
  for (const columns of [60, 180]) {
    const h = mount(t, { columns, rows: 40 });
    h.source.state('running');
    await h.emit(status);
    const frame = await h.until((f) => f.includes('bravo'), 'the table');
    // The header is the lines above the first blank one.
    const lines = frame.split('\n');
    const header = lines.slice(0, lines.indexOf(''));
    t.true(header.length >= 3, frame);
    assertItemsWhole(t, header, items, columns);
    t.true(
      lines.every((l) => [...l].length <= columns),
      'no line of the view is wider than the terminal',
    );
    h.unmount();
  }
});
