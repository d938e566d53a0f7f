/** A crowded header and a check that its items stay whole, for the header's tests and the whole view's. */
import type { ExecutionContext } from 'ava';
import type { ViewStatus } from '../../cli/view/evidence.js';
import { statusAt } from './fixtures.js';

/**
 * A header as the demo's NATed nodes have it: long NAT words, a gateway that maps no port, a STUN
 * server and names. Each item is what one fact reads as; the test checks them as units.
 */
export function crowdedHeader(): { status: ViewStatus; items: string[] } {
  const s = statusAt(0);
  const status: ViewStatus = {
    ...s,
    self: {
      ...s.self,
      natType: 'endpoint-independent',
      nat: {
        mapping: 'endpoint-independent',
        portKept: true,
        vantagePoints: 2,
        portTakenToward: 0,
        portMapping: null,
        filtering: 'no-firewall',
      },
      portMapping: { gateway: '198.18.5.1', mapped: null, protocols: [], junk: 0 },
      stun: [{ server: '203.0.113.21:3478', resolved: '203.0.113.21:3478', reflexive: '198.51.100.5:40001' }],
      names: { zone: 'home.internal', resolver: '100.64.0.1', upstreams: [], host: { mode: 'off' } },
    },
  };
  const items = [
    'alpha',
    '100.64.0.1',
    'fd5a:1f00:0:1::1',
    'up 2h03m',
    'admin',
    'endpoints 192.0.2.10:51820, 198.18.0.10:51820',
    'UDP 51820 on ovl0',
    'NAT endpoint-independent, port kept, inbound filtered, no firewall',
    'no port mapping at 198.18.5.1',
    'STUN 203.0.113.21:3478 sees 198.51.100.5:40001',
    'names *.home.internal at 100.64.0.1 (host DNS left alone (--no-dns))',
  ];
  return { status, items };
}

/**
 * Every item is whole: on one line when it fits the width, else over consecutive lines of its own,
 * broken only at spaces; and no line is wider than the terminal.
 */
export function assertItemsWhole(
  t: ExecutionContext,
  lines: readonly string[],
  items: readonly string[],
  width: number,
) {
  for (const l of lines) t.true([...l].length <= width, `${[...l].length} columns > ${width}: ${l}`);
  const trimmed = lines.map((l) => l.trim());
  for (const item of items) {
    if ([...item].length <= width) {
      const on = trimmed.find((l) => ` ${l} `.includes(` ${item} `));
      t.truthy(on, `"${item}" whole on one line at ${width} columns:\n${lines.join('\n')}`);
      continue;
    }
    const start = trimmed.findIndex((l) => item.startsWith(l) && item[l.length] === ' ');
    t.true(start >= 0, `"${item}" starts a line of its own at ${width} columns:\n${lines.join('\n')}`);
    let rest = item;
    for (let i = start; i >= 0 && rest.length > 0 && i < trimmed.length; i++) {
      t.true(rest.startsWith(trimmed[i]!), `"${item}" goes on in line ${i}: ${trimmed[i]}`);
      rest = rest.slice(trimmed[i]!.length).trimStart();
    }
    t.is(rest, '', `all of "${item}" is there`);
  }
}
