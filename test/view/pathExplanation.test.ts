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
  t.regex(
    why.join(' '),
    /the NAT in front of charlie gives each destination its own port and its router maps none/,
  );
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

/**
 * The "why" for each case of the NAT tests (test/nat.test.ts, test/portmap.test.ts), as the node
 * reports it there: every sentence must hold for that case. Before issue 13 a member behind a
 * per-destination NAT, relayed for good, was said to "move to direct shortly" (the relay's own
 * route counted as an answering candidate), and every NAT showed as unknown.
 */
const EI = {
  mapping: 'endpoint-independent',
  portKept: true,
  vantagePoints: 2,
  portTakenToward: 0,
  portMapping: null,
} as const;
const ED = {
  mapping: 'endpoint-dependent',
  portKept: false,
  vantagePoints: 2,
  portTakenToward: 0,
  portMapping: null,
} as const;
const tried = (endpoint: string, result: string, kind = 'reflexive') => ({
  endpoint,
  kind,
  result,
  rttMs: null,
  at: null,
});
const viaP = { endpoint: 'via p', kind: 'relay', result: 'ok', rttMs: 0.8, at: null };

function nodeWith(self: typeof EI | typeof ED, peer: Partial<ViewStatus['peers'][number]>): ViewStatus {
  const s = statusAt(1);
  const charlie = member(s, 'charlie');
  return { ...s, self: { ...s.self, nat: self, natType: self.mapping }, peers: [{ ...charlie, ...peer }] };
}

/** Direct to a member whose NAT keeps ports, 900 ms after first contact. */
const directBetweenKeepers = {
  path: 'direct',
  via: null,
  endpoint: '203.0.113.2:51820',
  directAfterMs: 900,
  nat: { mapping: 'endpoint-independent', portKept: true, portMapping: null },
} as const;

const whyCases: { name: string; status: ViewStatus; why: string[] }[] = [
  {
    name: 'direct between two port-keeping NATs',
    status: nodeWith(EI, {
      ...directBetweenKeepers,
      candidates: [tried('203.0.113.2:51820', 'ok'), viaP],
    }),
    why: ['direct to 203.0.113.2:51820.', 'went direct 900ms after first contact.'],
  },
  {
    name: 'relayed because both NATs pick a port per destination, no mapping',
    status: nodeWith(ED, {
      nat: { mapping: 'endpoint-dependent', portKept: false, portMapping: null },
      via: 'p',
      candidates: [
        tried('203.0.113.3:40001', 'no answer'),
        tried('198.18.3.10:51820', 'no answer', 'lan'),
        viaP,
      ],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      'both NATs, here and at charlie, give each destination its own port and neither router maps one: probes cannot meet, so the path stays relayed.',
    ],
  },
  {
    name: 'relayed because the far side picks a port per destination and maps none',
    status: nodeWith(EI, {
      nat: { mapping: 'endpoint-dependent', portKept: false, portMapping: null },
      via: 'p',
      candidates: [tried('203.0.113.3:40001', 'no answer'), viaP],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      'the NAT in front of charlie gives each destination its own port and its router maps none, so the other end cannot tell where to send; the path stays relayed.',
    ],
  },
  {
    name: 'relayed because this side picks a port per destination and maps none',
    status: nodeWith(ED, {
      nat: { mapping: 'endpoint-independent', portKept: true, portMapping: null },
      via: 'p',
      candidates: [tried('203.0.113.2:51820', 'no answer'), viaP],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      'the NAT in front of this node gives each destination its own port and its router maps none, so the other end cannot tell where to send; the path stays relayed.',
    ],
  },
  {
    name: 'direct through a port mapping on a per-destination NAT',
    status: nodeWith(ED, {
      path: 'direct',
      via: null,
      endpoint: '11.0.0.3:51820',
      directAfterMs: 1400,
      nat: { mapping: 'endpoint-dependent', portKept: false, portMapping: 'upnp' },
      candidates: [tried('11.0.0.3:51820', 'ok'), viaP],
    }),
    why: [
      'direct to 11.0.0.3:51820.',
      'went direct 1.4s after first contact.',
      "charlie's NAT gives each destination its own port; its router maps a port for it (UPnP), which is the way in.",
    ],
  },
  {
    name: 'relayed while the first probes are still out',
    status: nodeWith(EI, {
      via: 'p',
      probing: true,
      candidates: [tried('203.0.113.2:51820', 'not tried yet'), viaP],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      "the first probes to charlie's direct candidates are still out; relayed meanwhile.",
    ],
  },
  {
    name: 'relayed, and a direct candidate just answered',
    status: nodeWith(EI, {
      via: 'p',
      candidates: [tried('203.0.113.2:51820', 'ok'), viaP],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      '1 of 1 direct candidates answered; the path moves to direct once one answers twice in a row.',
    ],
  },
  {
    name: 'direct and idle: its last answer is old, as no probe went out since',
    status: nodeWith(EI, {
      ...directBetweenKeepers,
      candidates: [tried('203.0.113.2:51820', 'idle'), viaP],
    }),
    why: [
      'direct to 203.0.113.2:51820.',
      'went direct 900ms after first contact.',
      'no traffic: the path is only kept open, by one ping and its answer every 20-25 s, from whichever end pings first; traffic has it checked at once.',
    ],
  },
  {
    name: 'relayed and idle: a direct candidate that answered, not asked since, did answer',
    status: nodeWith(EI, {
      via: 'p',
      candidates: [tried('203.0.113.2:51820', 'idle'), tried('198.18.3.10:51820', 'no answer', 'lan'), viaP],
    }),
    why: [
      'traffic goes through p, which both ends reach; it forwards packets it cannot read.',
      '1 of 2 direct candidates answered; the path moves to direct once one answers twice in a row.',
    ],
  },
  {
    name: 'offline',
    status: nodeWith(EI, { online: false, path: null, via: null, lastHandshake: null, candidates: [] }),
    why: ['no handshake with charlie has completed yet, so no path is in use.'],
  },
];

// This node's filter (core/discovery/filterTest.ts), as the NAT tests find it: each router kind's
// sentence, said after the path's, and nothing while no test concluded.
const direct = { path: 'direct', via: null, endpoint: '203.0.113.2:51820', directAfterMs: null } as const;
const filterCases = [
  ['open', 'public member, or a port forwarded', /lets in datagrams it was not asked for .* got in/],
  [
    'firewall',
    'firewalled NAT',
    /drops datagrams it was not asked for and keeps no trace of them \(a firewall\)/,
  ],
  [
    'no-firewall',
    'plain MASQUERADE',
    /has no firewall: a datagram it was not asked for is kept by the router, which then gives this node's flow to that sender another port/,
  ],
  [
    'filtered',
    'per-destination NAT',
    /drops datagrams it was not asked for; whether it keeps them \(no firewall\) could not be told/,
  ],
] as const;
for (const [filtering, kind, sentence] of filterCases) {
  test(`why, this node's filter: ${filtering} (${kind})`, (t) => {
    const s = nodeWith({ ...(filtering === 'filtered' ? ED : EI), filtering } as never, {
      ...direct,
      candidates: [tried('203.0.113.2:51820', 'ok'), viaP],
    });
    const { why } = explainPath(s.peers[0]!, s);
    t.is(why.length, 2, why.join(' | '));
    t.is(why[0], 'direct to 203.0.113.2:51820.');
    t.regex(why[1]!, sentence);
    // Relayed, the same sentence, after the relay's.
    const r = nodeWith({ ...EI, filtering } as never, {
      via: 'p',
      candidates: [tried('203.0.113.2:51820', 'no answer'), viaP],
    });
    const relayed = explainPath(r.peers[0]!, r).why;
    t.regex(relayed.at(-1)!, sentence);
    t.regex(relayed[0]!, /through p/);
  });
}
// Without a concluded test, nothing is said of the filter.
test("why, this node's filter not measured yet: no sentence about it", (t) => {
  const s = nodeWith({ ...EI, filtering: null } as never, {
    ...direct,
    candidates: [tried('203.0.113.2:51820', 'ok'), viaP],
  });
  t.deepEqual(explainPath(s.peers[0]!, s).why, ['direct to 203.0.113.2:51820.']);
});

for (const c of whyCases) {
  test(`why, ${c.name}`, (t) => {
    const { why } = explainPath(c.status.peers[0]!, c.status);
    t.deepEqual(why, c.why);
    t.false(why.join(' ').includes('shortly'), 'no promise the path cannot keep');
  });
}
