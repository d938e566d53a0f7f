/**
 * What `overlay status` says of NATs and relays between whole nodes (issue 13, point 4), on the
 * simulated clock: each node classifies its own NAT from its vantage points (members, STUN
 * servers), says so in its pongs, names relays by their member's name, and the detail panel's
 * "why" holds for the path it shows.
 */
import test from 'ava';
import { explainPath } from '../../cli/view/pathExplanation.js';
import { IDLE_HEARTBEAT_MS } from '../../core/discovery/constants.js';
import { nodeStatus } from '../../core/node/status.js';
import { direct, NodeWorld, relayed, statusOf } from './nodeWorld.js';

test.serial(
  'two members behind per-destination NATs: each knows its NAT, the other says so too, the relay has its name, the why promises nothing',
  async (t) => {
    const w = new NodeWorld(t);
    w.stunServer('203.0.113.100:3478');
    const stun = { stun: ['203.0.113.100:3478'] };
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const b = await w.join(
      'b',
      w.machine('b', '198.18.0.2', w.nat('nb', '198.51.100.2', 'endpoint-dependent')),
      a,
      stun,
    );
    const c = await w.join(
      'c',
      w.machine('c', '198.18.1.2', w.nat('nc', '198.51.100.3', 'endpoint-dependent')),
      a,
      stun,
    );
    await w.until('b and c to relay through a', 20_000, () => relayed(b, c, a) && relayed(c, b, a));
    await w.until("b to know its NAT and hear c's, past the first burst", 20_000, () => {
      const toC = statusOf(b, c);
      return (
        nodeStatus(b.node).self.nat?.mapping === 'endpoint-dependent' &&
        toC?.nat !== undefined &&
        toC.probing === false
      );
    });
    const status = nodeStatus(b.node);
    t.like(status.self.nat, {
      mapping: 'endpoint-dependent',
      portKept: false,
      vantagePoints: 2,
      portMapping: null,
    });
    const toC = statusOf(b, c)!;
    t.like(toC.nat, { mapping: 'endpoint-dependent', portKept: false, portMapping: null });
    const relays = toC.candidates!.filter((x) => x.kind === 'relay');
    t.deepEqual(
      relays.map((x) => x.endpoint),
      ['via a'],
      'a relay candidate is named by its member',
    );
    t.deepEqual(explainPath(toC, status).why, [
      'traffic goes through a, which both ends reach; it forwards packets it cannot read.',
      'both NATs, here and at c, give each destination its own port and neither router maps one: probes cannot meet, so the path stays relayed.',
    ]);
  },
);

test.serial(
  'behind a port-keeping NAT with two members to see it: endpoint-independent, port kept',
  async (t) => {
    const w = new NodeWorld(t);
    const a = w.found('a', w.machine('a', '203.0.113.1'));
    const b = await w.join(
      'b',
      w.machine('b', '198.18.0.2', w.nat('nb', '198.51.100.2', 'endpoint-independent')),
      a,
    );
    const c = await w.join('c', w.machine('c', '198.51.100.3'), a);
    await w.until('b and c to go direct', 20_000, () => direct(b, c) && direct(c, b));
    await w.until('b to classify its NAT', 20_000, () => nodeStatus(b.node).self.nat?.vantagePoints === 2);
    t.like(nodeStatus(b.node).self.nat, {
      mapping: 'endpoint-independent',
      vantagePoints: 2,
      portTakenToward: 0,
    });
    t.like(nodeStatus(c.node).self.nat, { mapping: 'none' });
    // b tells c in its pongs; c's next ping on an idle direct path may be a heartbeat away.
    await w.until(
      "c to hear b's NAT",
      IDLE_HEARTBEAT_MS + 2_000,
      () => statusOf(c, b)?.nat !== undefined && statusOf(c, b)?.nat?.mapping !== 'unknown',
    );
    t.like(statusOf(c, b)?.nat, { mapping: 'endpoint-independent' });
  },
);
