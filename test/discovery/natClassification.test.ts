/**
 * The NAT classification (issue 13, point 4) from what vantage points report: members' pongs and
 * STUN servers, one per public IP. Each case is a set of observations a real NAT kind produces.
 */

import test from 'ava';
import { REFLEXIVE_TTL_MS } from '../../core/discovery/constants.js';
import { Discovery } from '../../core/discovery/discovery.js';
import { NatInference } from '../../core/discovery/natBehaviour.js';
import { ep, eps } from '../helpers/endpoints.js';
import { namedPeer } from '../helpers/peerIds.js';

const LOCAL = eps(['198.18.1.10:51820']);

function seen(observations: [vantage: string, observed: string][]): NatInference {
  const nat = new NatInference();
  for (const [vantage, observed] of observations) nat.note(vantage, ep(observed), LOCAL, 0);
  return nat;
}

test('before any vantage point: nothing is claimed', (t) => {
  t.deepEqual(new NatInference().classify(0), {
    mapping: 'unknown',
    portKept: null,
    vantagePoints: 0,
    portTakenToward: 0,
  });
});

test('one vantage point tells whether the port was kept, not how the NAT maps', (t) => {
  t.like(seen([['203.0.113.10', '203.0.113.1:51820']]).classify(0), {
    mapping: 'unknown',
    portKept: true,
    vantagePoints: 1,
  });
  t.like(seen([['203.0.113.10', '203.0.113.1:40123']]).classify(0), { mapping: 'unknown', portKept: false });
});

test('a port-keeping NAT (MASQUERADE): two vantage points see our own port at one public IP', (t) => {
  const c = seen([
    ['203.0.113.10', '203.0.113.1:51820'],
    ['203.0.113.2', '203.0.113.1:51820'],
  ]).classify(0);
  t.deepEqual(c, { mapping: 'endpoint-independent', portKept: true, vantagePoints: 2, portTakenToward: 0 });
});

test('an endpoint-independent NAT that picks its own port: same port for both, not ours', (t) => {
  t.like(
    seen([
      ['203.0.113.10', '203.0.113.1:1502'],
      ['203.0.113.2', '203.0.113.1:1502'],
    ]).classify(0),
    { mapping: 'endpoint-independent', portKept: false },
  );
});

test('a port per destination (MASQUERADE --random-fully): each vantage point sees another port', (t) => {
  t.deepEqual(
    seen([
      ['203.0.113.10', '203.0.113.1:40001'],
      ['203.0.113.20', '203.0.113.1:52777'],
    ]).classify(0),
    { mapping: 'endpoint-dependent', portKept: false, vantagePoints: 2, portTakenToward: 0 },
  );
});

test('our port toward most, another toward one: a port-keeping NAT whose tuple toward that one was taken', (t) => {
  t.deepEqual(
    seen([
      ['203.0.113.10', '203.0.113.1:51820'],
      ['203.0.113.20', '203.0.113.1:51820'],
      ['203.0.113.2', '203.0.113.1:1502'],
    ]).classify(0),
    { mapping: 'endpoint-independent', portKept: true, vantagePoints: 3, portTakenToward: 1 },
  );
});

test('an even split proves nothing about port keeping (a NAT may keep it for its first destination only)', (t) => {
  t.like(
    seen([
      ['203.0.113.10', '203.0.113.1:51820'],
      ['203.0.113.20', '203.0.113.1:1502'],
    ]).classify(0),
    { mapping: 'endpoint-dependent', portKept: null, portTakenToward: 0 },
  );
});

test('an even split from a NAT found to have no firewall: the other ports are taken tuples, the mapping independent', (t) => {
  // The NAT matrix's and the filter test's no-firewall NAT: two members' pings reached it before
  // ours left, and their tuples went to another port (issue 13 point 1; filterTest.ts).
  const nat = seen([
    ['203.0.113.10', '203.0.113.1:51820'],
    ['203.0.113.11', '203.0.113.1:51221'],
    ['203.0.113.12', '203.0.113.1:51820'],
    ['203.0.113.13', '203.0.113.1:51221'],
  ]);
  t.is(nat.behaviour(0), 'endpoint-dependent');
  t.is(nat.keptToward(0), 2);
  nat.noteNoFirewall(true);
  t.is(nat.behaviour(0), 'endpoint-independent');
  t.like(nat.classify(0), { mapping: 'endpoint-independent', portKept: true, portTakenToward: 2 });
  // A port per destination keeps ours toward nobody: no-firewall or not, it stays per destination.
  const hard = seen([
    ['203.0.113.10', '203.0.113.1:4880'],
    ['203.0.113.11', '203.0.113.1:9513'],
  ]);
  hard.noteNoFirewall(true);
  t.is(hard.behaviour(0), 'endpoint-dependent');
  t.like(hard.classify(0), { mapping: 'endpoint-dependent', portTakenToward: 0 });
});

test('seen at our own address: no NAT; at several public IPs: no conclusion on mapping', (t) => {
  t.like(seen([['203.0.113.10', '198.18.1.10:51820']]).classify(0), { mapping: 'none', portKept: null });
  t.like(
    seen([
      ['203.0.113.10', '203.0.113.1:51820'],
      ['203.0.113.20', '203.0.113.9:51820'],
    ]).classify(0),
    { mapping: 'unknown', portKept: true, vantagePoints: 2 },
  );
});

test('old observations expire: a NAT seen two minutes ago is not the NAT of now', (t) => {
  const nat = seen([
    ['203.0.113.10', '203.0.113.1:51820'],
    ['203.0.113.2', '203.0.113.1:51820'],
  ]);
  t.is(nat.classify(REFLEXIVE_TTL_MS).mapping, 'endpoint-independent');
  t.like(nat.classify(REFLEXIVE_TTL_MS + 1), { mapping: 'unknown', vantagePoints: 0 });
});

test('a STUN server and one member are two vantage points', (t) => {
  const d = new Discovery({ self: namedPeer('me'), now: 0, local: LOCAL });
  d.noteReflexive(ep('203.0.113.20:3478'), ep('203.0.113.1:51820'), 0);
  t.like(d.natClassification(0), { mapping: 'unknown', vantagePoints: 1 });
  d.noteReflexive(ep('203.0.113.30:3478'), ep('203.0.113.1:61000'), 0);
  t.like(d.natClassification(0), { mapping: 'endpoint-dependent', vantagePoints: 2 });
});
