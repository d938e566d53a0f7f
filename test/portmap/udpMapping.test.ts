/**
 * The NAT-PMP/PCP mapping machine under a simulated clock, with a router played by hand: it maps,
 * retransmits at 250 ms doubling, renews at half the lease, notices a restart from the epoch or an
 * announcement and maps again, counts junk, and deletes the mapping on release.
 */
import test from 'ava';
import { decodePcpResponse } from '../../core/portmap/pcp.js';
import { UdpMapping } from '../../core/portmap/udpMapping.js';

const nonce = Uint8Array.from({ length: 12 }, (_, i) => i + 1);

function pcpAnswer(o: {
  epoch: number;
  lifetime?: number;
  port?: number;
  result?: number;
  nonce?: Uint8Array;
}) {
  const b = new Uint8Array(60);
  const v = new DataView(b.buffer);
  b[0] = 2;
  b[1] = 0x81;
  b[3] = o.result ?? 0;
  v.setUint32(4, o.lifetime ?? 7200);
  v.setUint32(8, o.epoch);
  b.set(o.nonce ?? nonce, 24);
  b[36] = 17;
  v.setUint16(40, 51820);
  v.setUint16(42, o.port ?? 51820);
  b.set([0xff, 0xff, 203, 0, 113, 5], 54);
  return b;
}

function pcpAnnounce(epoch: number) {
  const b = new Uint8Array(24);
  b[0] = 2;
  b[1] = 0x80;
  new DataView(b.buffer).setUint32(8, epoch);
  return b;
}

function natPmpAnswers(epoch: number, port = 51820, result = 0) {
  const ext = new Uint8Array(12);
  const ev = new DataView(ext.buffer);
  ext[1] = 128;
  ev.setUint16(2, result);
  ev.setUint32(4, epoch);
  ext.set([203, 0, 113, 5], 8);
  const map = new Uint8Array(16);
  const mv = new DataView(map.buffer);
  map[1] = 129;
  mv.setUint16(2, result);
  mv.setUint32(4, epoch);
  mv.setUint16(8, 51820);
  mv.setUint16(10, port);
  mv.setUint32(12, 7200);
  return [ext, map];
}

const pcp = () => new UdpMapping({ protocol: 'pcp', internalPort: 51820, clientIp: '198.18.77.2', nonce });
const natPmp = () =>
  new UdpMapping({ protocol: 'nat-pmp', internalPort: 51820, clientIp: '198.18.77.2', nonce });

test('PCP: one MAP request, mapped on the answer, renewed at half the lease', (t) => {
  const m = pcp();
  const s = m.start(0);
  t.is(s.send.length, 1);
  t.like(decodePcpResponse(Object.assign(s.send[0]!.slice(), { 1: 0x81 })), { op: 'map', lifetime: 7200 });
  const r = m.receive(pcpAnswer({ epoch: 100 }), 40);
  t.deepEqual(r.events, [{ kind: 'mapped', external: '203.0.113.5:51820', lifetimeS: 7200 }]);
  t.is(r.nextAt, 40 + 3_600_000);
  t.deepEqual(m.tick(3_600_039).send, [], 'not before half the lease');
  const renew = m.tick(3_600_040);
  t.is(renew.send.length, 1, 'renewal sent at half the lease');
  const again = m.receive(pcpAnswer({ epoch: 100 + 3600 }), 3_600_050);
  t.deepEqual(again.events, [], 'same address: nothing to announce');
  t.deepEqual(m.mapped, { external: '203.0.113.5:51820', lifetimeS: 7200 });
});

test('retransmits at 250 ms doubling, then fails and waits a minute', (t) => {
  const m = pcp();
  let s = m.start(0);
  const sentAt: number[] = [0];
  for (let i = 0; i < 10 && s.events.length === 0; i++) {
    const at = s.nextAt!;
    s = m.tick(at);
    if (s.send.length > 0) sentAt.push(at);
  }
  t.deepEqual(sentAt, [0, 250, 750, 1750]);
  t.deepEqual(s.events, [{ kind: 'failed', reason: 'no answer from the router' }]);
  t.is(s.nextAt, 3750 + 60_000);
  t.is(m.tick(3750 + 60_000).send.length, 1, 'asks again after the back-off');
});

test('a refusal fails with the result code named', (t) => {
  const m = natPmp();
  m.start(0);
  const [ext] = natPmpAnswers(10, 51820, 3);
  t.deepEqual(m.receive(ext!, 5).events, [{ kind: 'failed', reason: 'network failure' }]);
});

test('answers that are not ours are counted and change nothing', (t) => {
  const m = pcp();
  m.start(0);
  t.deepEqual(m.receive(pcpAnswer({ epoch: 1, nonce: new Uint8Array(12) }), 5).events, []);
  t.deepEqual(m.receive(Uint8Array.of(1, 2, 3), 6).events, []);
  t.is(m.junk, 2);
  t.is(m.mapped, undefined);
});

test('PCP: an announcement after a restart maps again; one in the same epoch renews once, quietly', (t) => {
  const m = pcp();
  m.start(0);
  m.receive(pcpAnswer({ epoch: 1000 }), 10);
  const same = m.receive(pcpAnnounce(1060), 60_010);
  t.is(same.send.length, 1, 'one renewal, to be sure');
  t.deepEqual(same.events, [], 'nothing lost');
  t.deepEqual(
    m.receive(pcpAnswer({ epoch: 1060 }), 60_020).events,
    [],
    'kept: the same mapping, nothing to announce',
  );
  t.deepEqual(m.receive(pcpAnnounce(1061), 61_000).send, [], 'a burst of announcements renews once');
  const after = m.receive(pcpAnnounce(0), 120_000);
  t.deepEqual(after.events, [{ kind: 'lost', reason: 'the router announced a restart' }]);
  t.is(after.send.length, 1, 'asked again at once');
  t.like(m.receive(pcpAnswer({ epoch: 1, port: 40000 }), 120_010).events[0], {
    kind: 'mapped',
    external: '203.0.113.5:40000',
  });
});

test('PCP: a router that restarts within the epoch slack (moments after it mapped) is found by its announcement', (t) => {
  const m = pcp();
  m.start(0);
  // Mapped by a router up for 1 s; restarted 1 s later, it announces epoch 0: within the slack.
  m.receive(pcpAnswer({ epoch: 1 }), 10);
  const s = m.receive(pcpAnnounce(0), 1_010);
  t.is(s.send.length, 1, 'asked again');
  // The restarted router answers with a new port: the mapping moves.
  t.like(m.receive(pcpAnswer({ epoch: 0, port: 40001 }), 1_020).events[0], {
    kind: 'mapped',
    external: '203.0.113.5:40001',
  });
});

test('NAT-PMP: external address and map together; a renewal whose epoch went back is a restart', (t) => {
  const m = natPmp();
  t.is(m.start(0).send.length, 2, 'external address request and map request at once');
  const [ext, map] = natPmpAnswers(5000);
  t.deepEqual(m.receive(ext!, 10).events, [], 'half of what it needs');
  t.like(m.receive(map!, 11).events[0], { kind: 'mapped', external: '203.0.113.5:51820' });
  // The router restarted: its multicast announcement carries a small epoch (RFC 6886 §3.2.1).
  const [ext2] = natPmpAnswers(3);
  const s = m.receive(ext2!, 600_000);
  t.like(s.events[0], { kind: 'lost' });
  t.is(s.send.length, 2);
});

test('release sends one delete (lifetime 0) and then nothing', (t) => {
  const m = pcp();
  m.start(0);
  m.receive(pcpAnswer({ epoch: 1 }), 10);
  const r = m.release();
  t.is(r.send.length, 1);
  t.is(new DataView(r.send[0]!.buffer).getUint32(4), 0, 'lifetime 0');
  t.is(r.nextAt, undefined);
  t.deepEqual(m.tick(10_000_000).send, []);
  t.deepEqual(m.receive(pcpAnnounce(0), 10_000_001).send, []);
  t.deepEqual(natPmp().release().send, [], 'nothing mapped: nothing to delete');
});
