/**
 * Birthday probing's trust in addresses (issue 13, point 3): the easy side sends up to
 * BIRTHDAY_PROBES pings to random ports of one IP, the hard side a ping from each of BIRTHDAY_HOLES
 * sockets to one endpoint. Both learn the other's address from an introduction a member relays, so
 * a lying introducer (or one colluding with the peer) could aim them at a third party's machine.
 * Each side therefore aims only at an IP the peer itself lists in its signed endpoint record, as
 * well as the introducer saw it there: one member lying is not enough. A whole Discovery is driven
 * here, as the node drives it, with scripted members around it.
 */

import test from 'ava';
import { peerId } from '../../core/base/keys.js';
import { BIRTHDAY_HOLES } from '../../core/discovery/birthday.js';
import type { DiscoveryMessage, DiscoverySend } from '../../core/discovery/index.js';
import { ep, epText } from '../helpers/endpoints.js';
import { Driver, type Responder } from './driver.js';

const id = (n: number) => peerId(new Uint8Array(32).fill(n));
const P = id(2);
const Q = id(3);
const PEER = id(4);
const SELF = id(1);
const addr: Record<string, string> = { [P]: '203.0.113.2:51820', [Q]: '203.0.113.3:51820' };
/** The peer's public address, as its own signed record lists it and as an honest introducer saw it. */
const PEER_PUBLIC = '203.0.113.9:40001';
/** A machine that is no member: what a lying introducer names instead. */
const VICTIM_IP = '192.0.2.50';
const VICTIM = `${VICTIM_IP}:40001`;

/**
 * P and Q answer our pings from their addresses and say where they saw us: at one port for both
 * (our NAT keeps it: we are the easy side) or at one port each (we are the hard side). P answers
 * every introduction request about the peer with `introduced`; Q answers none, so P's word is the
 * only one we get. The peer answers pings through a relay only, as behind two NATs.
 */
function members(ourNat: 'easy' | 'hard', introduced: string): Responder {
  return (s: DiscoverySend) => {
    const m = s.message;
    if (s.to === P && m.kind === 'introduceRequest') {
      const message: DiscoveryMessage = { kind: 'introduce', peer: m.peer, candidates: [ep(introduced)] };
      return [{ from: P, message, source: { endpoint: ep(addr[P]!) }, delayMs: 20 }];
    }
    // The peer answers through a relay only: the route that carries the pair.
    if (s.to === PEER && m.kind === 'ping' && s.via !== undefined) {
      const message: DiscoveryMessage = { kind: 'pong', txid: m.txid };
      return [{ from: PEER, message, source: { via: s.via }, delayMs: 20 }];
    }
    if (
      (s.to !== P && s.to !== Q) ||
      m.kind !== 'ping' ||
      s.via !== undefined ||
      epText(s.endpoint) !== addr[s.to]
    )
      return [];
    const port = ourNat === 'easy' || s.to === P ? 51820 : 61001;
    const message: DiscoveryMessage = { kind: 'pong', txid: m.txid, observed: ep(`198.51.100.1:${port}`) };
    return [{ from: s.to, message, source: { endpoint: s.endpoint }, delayMs: 20 }];
  };
}

function world(ourNat: 'easy' | 'hard', introduced: string): Driver {
  return new Driver(
    SELF,
    [
      { id: P, candidates: [addr[P]!] },
      { id: Q, candidates: [addr[Q]!] },
      { id: PEER, candidates: [PEER_PUBLIC] },
    ],
    members(ourNat, introduced),
  );
}

const ipOf = (s: DiscoverySend) => s.endpoint?.address;
const steps = (d: Driver, step: string) =>
  d.sent.filter((s) => s.to === PEER && s.message.kind === 'birthday' && s.message.step === step);
/** Birthday's probes: pings to the IP at ports nobody announced (the path's own probes go to the one named). */
const probesTo = (d: Driver, ip: string, named: string) =>
  d.sent.filter(
    (s) => s.message.kind === 'ping' && s.via === undefined && ipOf(s) === ip && epText(s.endpoint) !== named,
  );

/** The peer, hard, offers an attempt through the relay at 8 s, and says its holes are open 100 ms after our answer. */
function peerOffers(d: Driver): void {
  d.run(8_000);
  d.at(8_000, PEER, { kind: 'birthday', step: 'hard' }, { via: P });
  d.at(8_100, PEER, { kind: 'birthday', step: 'open' }, { via: P });
  d.run(40_000);
}

test('the attack: a lying introducer names a third party as the hard peer; no probe goes there, and it is refused', (t) => {
  const d = world('easy', VICTIM);
  peerOffers(d);
  const c = d.discovery.probeCounters;
  t.log(
    `probes to the victim at other ports: ${probesTo(d, VICTIM_IP, VICTIM).length}; counters ${JSON.stringify(c)}`,
  );
  t.is(probesTo(d, VICTIM_IP, VICTIM).length, 0);
  t.is(probesTo(d, '203.0.113.9', PEER_PUBLIC).length, 0, 'nor anywhere else');
  t.is(steps(d, 'ready').length, 0, 'no attempt started');
  t.is(c.birthdayAttempts, 0);
  t.is(c.birthdayProbes, 0);
  t.is(c.birthdayRefused, 2, "counted as a refusal: the 'hard' step, and the 'open' out of order after it");
});

test('the same with an honest introducer: the IP the peer signed is probed, at about 100 ports a second', (t) => {
  const d = world('easy', PEER_PUBLIC);
  peerOffers(d);
  const probes = probesTo(d, '203.0.113.9', PEER_PUBLIC);
  t.log(`${probes.length} probes to the peer's signed IP`);
  t.is(steps(d, 'ready').length, 1);
  t.true(probes.length >= 1000, `${probes.length} probes`);
  t.is(probesTo(d, VICTIM_IP, VICTIM).length, 0);
  t.is(d.discovery.probeCounters.birthdayRefused, 0);
});

test('as the hard side: holes open only toward an IP the easy peer signed, whatever an introducer says', (t) => {
  const holes = (d: Driver) => d.sent.filter((s) => s.to === PEER && s.hole !== undefined);
  const lied = world('hard', VICTIM);
  lied.run(20_000);
  t.is(steps(lied, 'hard').length, 0, 'no attempt offered');
  lied.at(20_000, PEER, { kind: 'birthday', step: 'ready' }, { via: P });
  lied.run(25_000);
  t.is(holes(lied).length, 0);
  t.is(lied.sent.filter((s) => ipOf(s) === VICTIM_IP && epText(s.endpoint) !== VICTIM).length, 0);
  // The control: told the truth, the same world offers, and opens its holes toward the peer.
  const honest = world('hard', PEER_PUBLIC);
  for (let at = 0; at <= 20_000 && steps(honest, 'hard').length === 0; at += 100) honest.run(at);
  t.is(steps(honest, 'hard').length, 1);
  const offeredAt = steps(honest, 'hard')[0]!.at;
  honest.at(offeredAt + 50, PEER, { kind: 'birthday', step: 'ready' }, { via: P });
  honest.run(offeredAt + 100);
  t.is(holes(honest).length, BIRTHDAY_HOLES);
  t.true(holes(honest).every((s) => epText(s.endpoint) === PEER_PUBLIC));
});

test('a peer whose new record no longer lists the probed IP stops being probed at once', (t) => {
  const d = world('easy', PEER_PUBLIC);
  d.run(8_000);
  d.at(8_000, PEER, { kind: 'birthday', step: 'hard' }, { via: P });
  d.at(8_100, PEER, { kind: 'birthday', step: 'open' }, { via: P });
  d.run(10_000);
  const before = probesTo(d, '203.0.113.9', PEER_PUBLIC).length;
  t.true(before > 100, `${before} probes before`);
  // The peer signs a record at another address (it moved): the old IP may be anybody's now.
  const out = d.discovery.setPeers(
    [
      { id: P, name: 'p', candidates: [ep(addr[P]!)], relay: true },
      { id: Q, name: 'q', candidates: [ep(addr[Q]!)], relay: true },
      { id: PEER, name: 'peer', candidates: [ep('198.51.100.77:40001')], relay: true },
    ],
    10_000,
  );
  t.false(out.send.some((s) => s.message.kind === 'ping' && ipOf(s) === '203.0.113.9'));
  d.run(20_000);
  const after = probesTo(d, '203.0.113.9', PEER_PUBLIC).length;
  t.is(after, before, 'no probe after the record changed');
  t.is(d.discovery.probeCounters.birthdayFailed, 1);
});
