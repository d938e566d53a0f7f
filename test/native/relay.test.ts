/**
 * Relays in the native data path, as root in namespaces this file makes: members A and B have no
 * route to each other, only links to member M; their WireGuard datagrams travel through M in relay
 * envelopes, with no packet going through JavaScript on any of the three. Sessions and relay keys
 * are fixed test keys installed by hand (test/fixtures/relay-node), so no handshake is involved.
 */
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { encodeBindingSuccess } from '../../core/stun/index.js';
import {
  A_OVER,
  A_UNDER,
  B_OVER,
  B_UNDER,
  envelope,
  envelopeKey,
  hex,
  ID_A,
  ID_B,
  ID_M,
  M_UNDER_A,
  M_UNDER_B,
  PORT,
  RelayNode,
  relayWorld,
  settledStats,
  TAG,
} from '../fixtures/relay-world.js';
import { until } from '../helpers/jsonLines.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { ping } from '../helpers/overlayNode.js';
import { rootTest } from '../helpers/root.js';

rootTest(
  test,
  'members with no route between them ping through a relay member that forwards without reading',
  async (t) => {
    const { a, m, b, nsA, nsB } = await relayWorld(t, 'rly');
    t.throws(
      () => nsA.exec('ping', ['-n', '-c', '1', '-W', '1', B_UNDER]),
      undefined,
      'A must not reach B directly',
    );

    const there = ping(nsA, B_OVER, 5);
    t.is(there.received, 5, there.output);
    const back = ping(nsB, A_OVER, 5);
    t.is(back.received, 5, back.output);
    // The largest inner packet (1420 bytes, don't-fragment) fits the relayed path's buffers.
    const full = ping(nsA, B_OVER, 3, { payloadBytes: 1420 - 28 });
    t.is(full.received, 3, full.output);

    const [sa, sm, sb] = await Promise.all([a.stats(), m.stats(), b.stats()]);
    t.true(sa['relayedOut']! >= 13 && sa['relayedIn']! >= 13, JSON.stringify(sa));
    t.true(sb['relayedOut']! >= 13 && sb['relayedIn']! >= 13, JSON.stringify(sb));
    t.true(sa['relayFragmented']! >= 3, 'full-size relayed datagrams exceed a 1500-byte IPv4 underlay');
    t.true(sm['relayForwarded']! >= 26, JSON.stringify(sm));
    // M carried them without decrypting or delivering any: its TUN saw nothing.
    t.is(sm['rxTransport'], 0);
    t.is(sm['forwarded'], 0);
    t.is(m.tunRxPackets(), 0);
    for (const s of [sa, sm, sb]) {
      for (const reason of ['BadMac', 'Replay', 'UnknownTag', 'NotMember', 'Rate', 'NoPath', 'WrongSender']) {
        t.is(s[`relayDropped${reason}`], 0, reason);
      }
    }
    t.like(await b.call('peerStats', ID_A), { relayVia: ID_M, relayKey: true, endpoint: null });

    // A control message (a handshake or discovery) follows the path too, and says who carried it.
    // (Sealed-sized: the data path takes nothing shorter as one of overlay's messages.)
    const msg = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(150, 0xde)]);
    t.true((await a.call('sendControlToPeer', hex(msg), ID_B)) as boolean);
    await until('B to get the relayed control message', () => b.controls().length > 0);
    t.like(b.controls()[0], {
      data: msg.toString('hex'),
      via: ID_M,
      peer: ID_A,
      from: `${M_UNDER_B}:${PORT}`,
    });
  },
);

rootTest(
  test,
  'a relay drops forged, replayed, stale-epoch and non-member envelopes, and counts each',
  async (t) => {
    const { a, m, b, keys, secrets } = await relayWorld(t, 'rlx');
    const toM = `${M_UNDER_A}:${PORT}`;
    const inner = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(150, 0xca)]);
    const valid = (counter: bigint, dest = TAG.b, key = keys.am) =>
      envelope({ flags: 0, macTag: TAG.a, otherTag: dest, receiverTag: TAG.m, counter, key, inner });

    // Forged: the right header, a wrong MAC.
    const forged = valid(1_000_000n);
    forged[30]! ^= 1;
    await a.call('sendControl', hex(forged), toM);

    // Replayed: a valid envelope reaches B (made here, so the format is what wire.h says), its copy does not.
    const once = valid(1_000_001n);
    await a.call('sendControl', hex(once), toM);
    await until('B to get the relayed message', () => b.controls().length > 0);
    t.like(b.controls()[0], { data: inner.toString('hex'), via: ID_M, peer: ID_A });
    await a.call('sendControl', hex(once), toM);

    // Of another epoch of A's (an earlier life of its data path): a valid MAC under a key M no
    // longer holds, dropped by its key id before any MAC work.
    const oldKey = envelopeKey(
      secrets.am,
      { tag: TAG.a, epoch: randomBytes(16) },
      { tag: TAG.m, epoch: m.epoch },
    );
    await a.call('sendControl', hex(valid(5n, TAG.b, oldKey)), toM);

    // From a non-member: a tag M has no key for; and to a non-member, from a member.
    const stranger = envelope({
      flags: 0,
      macTag: TAG.stranger,
      otherTag: TAG.b,
      receiverTag: TAG.m,
      counter: 1n,
      key: { key: randomBytes(32), id: 0 },
      inner,
    });
    await a.call('sendControl', hex(stranger), toM);
    await a.call('sendControl', hex(valid(1_000_002n, TAG.stranger)), toM);

    // B: an envelope "from M" that M never MACed.
    const fake = envelope({
      flags: 1,
      macTag: TAG.m,
      otherTag: TAG.a,
      receiverTag: TAG.b,
      counter: 5n,
      key: { key: randomBytes(32), id: keys.mb.id },
      inner,
    });
    await m.call('sendControl', hex(fake), `${B_UNDER}:${PORT}`);
    // A relays for no one: setRelayService was never called there.
    await m.call('sendControl', hex(valid(7n)), `${A_UNDER}:${PORT}`);

    // Each count must be exact once the last datagrams have landed.
    const expectM = {
      relayForwarded: 1,
      relayDroppedBadMac: 1,
      relayDroppedReplay: 1,
      relayDroppedUnknownTag: 1,
      relayDroppedNotMember: 1,
      relayDroppedStaleKey: 1,
    };
    t.like(await settledStats(m, expectM), expectM);
    t.like(await settledStats(b, { relayedIn: 1, relayDroppedBadMac: 1 }), {
      relayedIn: 1,
      relayDroppedBadMac: 1,
    });
    t.like(await settledStats(a, { relayDroppedDisabled: 1 }), { relayDroppedDisabled: 1 });
    t.is(b.controls().length, 1, 'only the one valid envelope reached B');
  },
);

rootTest(
  test,
  'a relayed pair moves to a direct path when a route appears, and back to the relay',
  async (t) => {
    const { a, m, b, nsA, nsB } = await relayWorld(t, 'rlz');
    t.is(ping(nsA, B_OVER, 3).received, 3);

    vethPair(nsA, '203.0.113.1/24', nsB, '203.0.113.2/24');
    await a.call('setPeerPath', ID_B, { direct: `203.0.113.2:${PORT}` });
    await b.call('setPeerPath', ID_A, { direct: `203.0.113.1:${PORT}` });
    const before = (await m.stats())['relayForwarded']!;
    const direct = ping(nsA, B_OVER, 5);
    t.is(direct.received, 5, direct.output);
    t.is((await m.stats())['relayForwarded'], before, 'direct traffic does not pass through M');
    t.like(await a.call('peerStats', ID_B), { relayVia: null, endpoint: `203.0.113.2:${PORT}` });
    // While direct, a probe of the relay route still travels through M in an envelope.
    const probe = Buffer.concat([Buffer.from([0x80]), Buffer.alloc(150, 0xfe)]); // sealed-sized (admission.h)
    t.true((await a.call('sendControlVia', hex(probe), ID_B, ID_M)) as boolean);
    await until('B to get the probe through M', () => b.controls().length > 0);
    t.like(b.controls()[0], { data: probe.toString('hex'), via: ID_M, peer: ID_A });
    t.is((await m.stats())['relayForwarded'], before + 1);
    t.false((await a.call('sendControlVia', hex(probe), ID_B, ID_B)) as boolean, 'not through itself');

    await a.call('setPeerPath', ID_B, { relay: ID_M });
    await b.call('setPeerPath', ID_A, { relay: ID_M });
    const relayed = ping(nsB, A_OVER, 5);
    t.is(relayed.received, 5, relayed.output);
    t.true((await m.stats())['relayForwarded']! >= before + 10);
  },
);

rootTest(test, 'a relay holds each sender to its byte rate and counts what it drops', async (t) => {
  const { a, m, b, keys } = await relayWorld(t, 'rlr');
  const sealed = (size: number, fill: number) =>
    Buffer.concat([Buffer.from([0x80]), Buffer.alloc(size - 1, fill)]);
  const small = sealed(151, 0xaa);
  const large = sealed(1151, 0xbb);
  let counter = 100n;
  const send = (inner: Buffer) =>
    a.call(
      'sendControl',
      hex(
        envelope({
          flags: 0,
          macTag: TAG.a,
          otherTag: TAG.b,
          receiverTag: TAG.m,
          counter: counter++,
          key: keys.am,
          inner,
        }),
      ),
      `${M_UNDER_A}:${PORT}`,
    );
  // Each envelope is charged its length (44 bytes of envelope header and the inner datagram) and
  // 64 bytes for the headers under it (engine.h kRelayChargeOverhead).
  const charge = (inner: Buffer) => 44 + inner.length + 64;
  await m.call('setRelayService', true, 2 * charge(large));
  for (let i = 0; i < 20; i++) await send(large);
  const first = await settledStats(m, { relayForwarded: 2, relayDroppedRate: 18 });
  // A bucket of one second's worth (two large envelopes) passes at once; the rest of a burst
  // this fast is dropped, and counted.
  t.true(first['relayForwarded']! >= 2 && first['relayForwarded']! <= 3, JSON.stringify(first));
  t.is(first['relayForwarded']! + first['relayDroppedRate']!, 20);
  // Refilled, the same budget passes as many small envelopes as their bytes allow: ~9.7 of them.
  await new Promise((r) => setTimeout(r, 1100));
  for (let i = 0; i < 20; i++) await send(small);
  const second = await settledStats(m, {
    relayForwarded: first['relayForwarded']! + 9,
    relayDroppedRate: first['relayDroppedRate']! + 11,
  });
  const smallPassed = second['relayForwarded']! - first['relayForwarded']!;
  t.true(smallPassed >= 9 && smallPassed <= 12, JSON.stringify(second));
  t.is(second['relayForwarded']! + second['relayDroppedRate']!, 40);
  await until('B to get what M forwarded', () => b.controls().length === second['relayForwarded']);
});

rootTest(
  test,
  "a destination drops relayed transport whose session is another peer's than the envelope names",
  async (t) => {
    const { m, b, keys } = await relayWorld(t, 'rlw');
    // B also has a session with M (index 0x3333); an envelope "from A" carrying M's transport is a lie.
    await b.call('installSession', ID_M, {
      localIndex: 0x3333,
      remoteIndex: 0x4444,
      sendKey: hex(randomBytes(32)),
      receiveKey: hex(randomBytes(32)),
      initiator: true,
    });
    const transport = Buffer.alloc(32);
    transport.writeUInt32LE(4, 0);
    transport.writeUInt32LE(0x3333, 4);
    const lie = envelope({
      flags: 1,
      macTag: TAG.m,
      otherTag: TAG.a,
      receiverTag: TAG.b,
      counter: 1_000n,
      key: keys.mb,
      inner: transport,
    });
    await m.call('sendControl', hex(lie), `${B_UNDER}:${PORT}`);
    const sb = await settledStats(b, { relayDroppedWrongSender: 1 });
    t.like(sb, { relayedIn: 1, relayDroppedWrongSender: 1, rxAuthFailed: 0 });
  },
);

rootTest(
  test,
  'the traffic watch: one event at the first transport after it is armed, none unarmed, none for envelopes a relay only carries',
  async (t) => {
    const { a, m, b, nsA } = await relayWorld(t, 'rlt');
    const traffic = (n: typeof a) => n.upEvents('traffic').length;
    await a.call('watchTraffic');
    await m.call('watchTraffic');
    await new Promise((r) => setTimeout(r, 300));
    t.is(traffic(a), 0, 'armed, but nothing moved');
    const first = ping(nsA, B_OVER, 3);
    t.is(first.received, 3, first.output);
    await until('A to say its transport moved', () => traffic(a) === 1);
    // One event per arming, whichever thread moved transport first (A sent and received).
    const again = ping(nsA, B_OVER, 2);
    t.is(again.received, 2, again.output);
    await new Promise((r) => setTimeout(r, 300));
    t.is(traffic(a), 1, 'spent until armed again');
    t.is(traffic(b), 0, 'never armed');
    // M forwarded every one of those envelopes, but none was transport of its own peers.
    t.true((await m.stats())['relayForwarded']! >= 10);
    t.is(traffic(m), 0);
    await a.call('watchTraffic');
    const third = ping(nsA, B_OVER, 1);
    t.is(third.received, 1, third.output);
    await until('A to say so again once armed again', () => traffic(a) === 2);
  },
);

rootTest(
  test,
  'relayed full-size packets, too large for one unfragmented datagram, are not lost in refused GSO runs, and cost no one GSO',
  async (t) => {
    const { a, m, nsA, nsB } = await relayWorld(t, 'rlg');
    // A TCP stream at full inner size (1420-byte segments, read from the TUN as super-packets and
    // sent in runs): 1452-byte datagrams, 1496 in their envelopes, over a 1500-byte underlay. The
    // kernel refuses a GSO run of those (EINVAL); that used to turn GSO off for good, on the
    // sender and on the relay, for every peer.
    const stream = (mss?: number) => {
      const server = nsB.spawn('iperf3', ['-s', '-1', '-B', B_OVER], { stdio: 'ignore' });
      try {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
        const args = ['-c', B_OVER, '-t', '1', '-J', ...(mss ? ['-M', String(mss)] : [])];
        nsA.exec('iperf3', args, 30_000);
      } finally {
        server.kill('SIGKILL');
      }
    };
    stream();
    const [sa, sm] = await Promise.all([a.stats(), m.stats()]);
    // Refused runs were lost whole (counted as send failures), up to 64 datagrams at a time.
    t.is(sa['txSendFailed'], 0, JSON.stringify(sa));
    t.is(sm['txSendFailed'], 0, JSON.stringify(sm));
    t.is(sa['udpGsoRefused']! + sm['udpGsoRefused']!, 0);
    t.true(sa['relayFragmented']! > 10, 'the envelopes were fragmented on the way');
    t.true(sa['udpGsoTooBig']! >= 1, 'a refused run was counted');
    // Runs of envelopes that fit still leave as one message each, on the sender and on the relay.
    stream(1200);
    const [la, lm] = await Promise.all([a.stats(), m.stats()]);
    t.true(la['udpGsoSent']! > sa['udpGsoSent']!, `sender: ${sa['udpGsoSent']} -> ${la['udpGsoSent']}`);
    t.true(lm['udpGsoSent']! > sm['udpGsoSent']!, `relay: ${sm['udpGsoSent']} -> ${lm['udpGsoSent']}`);
    t.is(la['udpGsoRefused']! + lm['udpGsoRefused']!, 0);
  },
);

rootTest(test, 'relay settings reject bad arguments with typed errors', async (t) => {
  const ns = new Netns('rlv');
  t.teardown(() => ns.destroy());
  const node = await RelayNode.start(ns, `${A_OVER}/24`);
  await node.call('setPeer', ID_M, [], `${M_UNDER_A}:${PORT}`);
  const key = hex(randomBytes(32));
  const tags = { local: hex(TAG.a), remote: hex(TAG.m) };
  const epoch = hex(randomBytes(16));
  const fails = async (code: string, method: string, ...args: unknown[]) => {
    const error = await t.throwsAsync(() => node.call(method, ...args));
    t.regex(error?.message ?? '', new RegExp(code), `${method} ${JSON.stringify(args)}`);
  };
  await fails('ERR_INVALID_ARG_TYPE', 'setRelayKey', ID_M, hex(randomBytes(16)), tags, epoch);
  await fails(
    'ERR_INVALID_ARG_TYPE',
    'setRelayKey',
    ID_M,
    key,
    {
      local: hex(TAG.a),
      remote: hex(Buffer.alloc(4)),
    },
    epoch,
  );
  await fails('ERR_INVALID_ARG_TYPE', 'setRelayKey', ID_M, key, tags, hex(randomBytes(8)));
  await fails('ERR_INVALID_ARG_TYPE', 'setRelayKey', ID_M, key, tags);
  await fails('ERR_OUT_OF_RANGE', 'setRelayKey', ID_M, key, { local: hex(TAG.a), remote: hex(TAG.a) }, epoch);
  await fails('ERR_OUT_OF_RANGE', 'setRelayKey', 9, key, tags, epoch);
  await node.call('setRelayKey', ID_M, key, tags, epoch);
  await node.call('setPeer', ID_B, [], null);
  await fails('ERR_OUT_OF_RANGE', 'setRelayKey', ID_B, key, { local: hex(TAG.a), remote: hex(TAG.m) }, epoch);
  await fails('ERR_OUT_OF_RANGE', 'setPeerPath', ID_B, { relay: 9 });
  await fails('ERR_OUT_OF_RANGE', 'setPeerPath', ID_B, { relay: ID_B });
  await fails('ERR_INVALID_ARG_TYPE', 'setPeerPath', ID_B, { relay: ID_M, direct: '192.0.2.9:1' });
  await fails('ERR_OUT_OF_RANGE', 'setPeerPath', ID_B, { direct: 'nowhere' });
  await fails('ERR_OUT_OF_RANGE', 'setRelayService', true, 0);
  await fails('ERR_OUT_OF_RANGE', 'setRelayService', true, 2 ** 32);
  await node.call('setRelayService', false, 0);
  // B is relayed through M, but B has no relay key here: nothing can be sent, and that is counted.
  await node.call('setPeerPath', ID_B, { relay: ID_M });
  t.false((await node.call('sendControlToPeer', hex(Buffer.from('80000000', 'hex')), ID_B)) as boolean);
  t.false((await node.call('sendControlToPeer', hex(Buffer.from('80000000', 'hex')), 42)) as boolean);
  t.like(await node.stats(), { relayDroppedNoPath: 1, relayedOut: 0 });
  t.like(await node.call('peerStats', ID_B), { relayVia: ID_M, relayKey: false });
});

rootTest(
  test,
  'a STUN response straight from the network goes up as a stun event; a relayed one, or one with a bad cookie, is junk',
  async (t) => {
    const { a, m, b, keys } = await relayWorld(t, 'rls');
    const toM = `${M_UNDER_A}:${PORT}`;
    // A Binding success response: first byte 0x01 like a WireGuard initiation, bytes 1..3 not zero.
    const stun = Buffer.from(encodeBindingSuccess(randomBytes(12), { address: '203.0.113.5', port: 40000 }));
    t.is(stun[0], 0x01);
    const before = await m.stats();
    await a.call('sendControl', hex(stun), toM);
    await until('M to get the STUN response', () => m.upEvents('stun').length > 0);
    const [up] = m.upEvents('stun');
    t.like(up, { data: stun.toString('hex'), from: `${A_UNDER}:${PORT}` });
    t.false('via' in up!, 'it came from no relay');
    t.is(m.controls().length, 0, 'not also as a control datagram');

    // The same bytes with one cookie byte wrong are neither STUN nor WireGuard.
    const badCookie = Buffer.from(stun);
    badCookie[7]! ^= 0xff;
    await a.call('sendControl', hex(badCookie), toM);
    const expectM = { rxControl: before['rxControl']! + 1, rxJunk: before['rxJunk']! + 1 };
    t.like(await settledStats(m, expectM), expectM);

    // Relayed to B through M: STUN servers are no members, so STUN inside an envelope is junk.
    const beforeB = await b.stats();
    const relayed = envelope({
      flags: 0,
      macTag: TAG.a,
      otherTag: TAG.b,
      receiverTag: TAG.m,
      counter: 1_000_000n,
      key: keys.am,
      inner: stun,
    });
    await a.call('sendControl', hex(relayed), toM);
    const expectB = { relayedIn: beforeB['relayedIn']! + 1, rxJunk: beforeB['rxJunk']! + 1 };
    t.like(await settledStats(b, expectB), expectB);
    t.is(b.controls().length + b.upEvents('stun').length, 0);
    t.is(m.upEvents('stun').length, 1);
  },
);
