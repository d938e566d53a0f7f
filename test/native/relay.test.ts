/**
 * Relays in the native data path, as root in namespaces this file makes: members A and B have no
 * route to each other, only links to member M; their WireGuard datagrams travel through M in relay
 * envelopes, with no packet going through JavaScript on any of the three. Sessions and relay keys
 * are fixed test keys installed by hand (test/fixtures/relay-node), so no handshake is involved.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { type JsonEvent, JsonLinesChild, until } from '../helpers/jsonLines.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { ping } from '../helpers/overlayNode.js';
import { rootTest } from '../helpers/root.js';

const script = fileURLToPath(new URL('../fixtures/relay-node.js', import.meta.url));
const PORT = 51820;
const A_UNDER = '192.0.2.1';
const M_UNDER_A = '192.0.2.2';
const M_UNDER_B = '198.51.100.2';
const B_UNDER = '198.51.100.1';
const A_OVER = '100.64.0.1';
const B_OVER = '100.64.0.2';
// Peer ids, the same on every node.
const ID_A = 1;
const ID_M = 2;
const ID_B = 3;
const TAG = {
  a: Buffer.from('a1a1a1a1a1a1a1a1', 'hex'),
  m: Buffer.from('b2b2b2b2b2b2b2b2', 'hex'),
  b: Buffer.from('c3c3c3c3c3c3c3c3', 'hex'),
  stranger: Buffer.from('d4d4d4d4d4d4d4d4', 'hex'),
};

const hex = (b: Uint8Array) => ({ hex: Buffer.from(b).toString('hex') });

class RelayNode {
  private nextId = 1;
  constructor(
    readonly ns: Netns,
    readonly io: JsonLinesChild,
    readonly ifname: string,
  ) {}

  static async start(ns: Netns, address: string): Promise<RelayNode> {
    const child = ns.spawn(process.execPath, [script], { stdio: ['pipe', 'pipe', 'inherit'] });
    const io = new JsonLinesChild(child, `relay node in ${ns.name}`);
    io.command({ address, port: PORT });
    const ready = await io.waitFor(
      'the data path to start',
      (e) => e.event === 'ready' || e.event === 'error',
    );
    if (ready.event !== 'ready') throw new Error(`relay node failed: ${JSON.stringify(ready)}`);
    return new RelayNode(ns, io, ready['ifname'] as string);
  }

  async call(method: string, ...args: unknown[]): Promise<unknown> {
    const id = this.nextId++;
    const since = this.io.events.length;
    this.io.command({ id, method, args });
    const reply = await this.io.waitFor(
      `${method} to answer`,
      (e) => e.event === 'result' && e['id'] === id,
      10_000,
      since,
    );
    if (reply['error']) throw new Error(`${method}: ${JSON.stringify(reply['error'])}`);
    return reply['value'];
  }

  async stats(): Promise<Record<string, number>> {
    return (await this.call('stats')) as Record<string, number>;
  }

  /** Control events this node's data path handed up so far. */
  controls(): Record<string, unknown>[] {
    return this.io.events
      .filter((e: JsonEvent) => e.event === 'datapath')
      .flatMap((e) => e['events'] as Record<string, unknown>[])
      .filter((e) => e['type'] === 'control');
  }

  /** Packets the kernel received from the TUN (what the data path wrote into this host). */
  tunRxPackets(): number {
    const [link] = JSON.parse(this.ns.ip('-s', '-j', 'link', 'show', 'dev', this.ifname)) as {
      stats64: { rx: { packets: number } };
    }[];
    return link!.stats64.rx.packets;
  }
}

/**
 * A relay envelope made here, independently of the C++ (wire.h): the test's own reading of the
 * format, so a mismatch between the two fails the test.
 */
function envelope(opts: {
  flags: number;
  macTag: Buffer;
  otherTag: Buffer;
  receiverTag: Buffer;
  counter: bigint;
  key: Uint8Array;
  inner: Buffer;
}): Buffer {
  const h = Buffer.alloc(44);
  h[0] = 0x84;
  h[1] = opts.flags;
  opts.macTag.copy(h, 4);
  opts.otherTag.copy(h, 12);
  h.writeBigUInt64LE(opts.counter, 20);
  const nonce = Buffer.alloc(12);
  nonce.writeUInt32LE(opts.macTag.readBigUInt64LE(0) < opts.receiverTag.readBigUInt64LE(0) ? 0 : 1, 0);
  nonce.writeBigUInt64LE(opts.counter, 4);
  const cipher = createCipheriv('chacha20-poly1305', opts.key, nonce, { authTagLength: 16 });
  cipher.setAAD(Buffer.concat([h.subarray(0, 28), opts.inner]), { plaintextLength: 0 });
  cipher.final();
  cipher.getAuthTag().copy(h, 28);
  return Buffer.concat([h, opts.inner]);
}

interface World {
  a: RelayNode;
  m: RelayNode;
  b: RelayNode;
  keys: { am: Buffer; mb: Buffer; ab: Buffer };
  nsA: Netns;
  nsB: Netns;
}

/** Three namespaces A — M — B, M's kernel not forwarding; A's and B's paths to each other via M. */
async function relayWorld(t: ExecutionContext, tag: string): Promise<World> {
  const nsA = new Netns(`${tag}a`);
  t.teardown(() => nsA.destroy());
  const nsM = new Netns(`${tag}m`);
  t.teardown(() => nsM.destroy());
  const nsB = new Netns(`${tag}b`);
  t.teardown(() => nsB.destroy());
  vethPair(nsA, `${A_UNDER}/24`, nsM, `${M_UNDER_A}/24`);
  vethPair(nsM, `${M_UNDER_B}/24`, nsB, `${B_UNDER}/24`);
  nsM.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=0']);

  const [a, m, b] = await Promise.all([
    RelayNode.start(nsA, `${A_OVER}/24`),
    RelayNode.start(nsM, '100.64.0.3/24'),
    RelayNode.start(nsB, `${B_OVER}/24`),
  ]);
  const keys = { am: randomBytes(32), mb: randomBytes(32), ab: randomBytes(32) };
  const aToB = randomBytes(32);
  const bToA = randomBytes(32);

  await a.call('setPeer', ID_M, [], `${M_UNDER_A}:${PORT}`);
  await a.call('setPeer', ID_B, [`${B_OVER}/32`], null);
  await a.call('setRelayKey', ID_M, hex(keys.am), { local: hex(TAG.a), remote: hex(TAG.m) });
  await a.call('setRelayKey', ID_B, hex(keys.ab), { local: hex(TAG.a), remote: hex(TAG.b) });
  await a.call('setPeerPath', ID_B, { relay: ID_M });
  await a.call('installSession', ID_B, {
    localIndex: 0x1111,
    remoteIndex: 0x2222,
    sendKey: hex(aToB),
    receiveKey: hex(bToA),
    initiator: true,
  });

  await b.call('setPeer', ID_M, [], `${M_UNDER_B}:${PORT}`);
  await b.call('setPeer', ID_A, [`${A_OVER}/32`], null);
  await b.call('setRelayKey', ID_M, hex(keys.mb), { local: hex(TAG.b), remote: hex(TAG.m) });
  await b.call('setRelayKey', ID_A, hex(keys.ab), { local: hex(TAG.b), remote: hex(TAG.a) });
  await b.call('setPeerPath', ID_A, { relay: ID_M });
  await b.call('installSession', ID_A, {
    localIndex: 0x2222,
    remoteIndex: 0x1111,
    sendKey: hex(bToA),
    receiveKey: hex(aToB),
    initiator: true,
  });

  await m.call('setPeer', ID_A, [], `${A_UNDER}:${PORT}`);
  await m.call('setPeer', ID_B, [], `${B_UNDER}:${PORT}`);
  await m.call('setRelayKey', ID_A, hex(keys.am), { local: hex(TAG.m), remote: hex(TAG.a) });
  await m.call('setRelayKey', ID_B, hex(keys.mb), { local: hex(TAG.m), remote: hex(TAG.b) });
  await m.call('setRelayService', true, 1000);
  return { a, m, b, keys, nsA, nsB };
}

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
    const msg = Buffer.from('80deadbeef', 'hex');
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

rootTest(test, 'a relay drops forged, replayed and non-member envelopes, and counts each', async (t) => {
  const { a, m, b, keys } = await relayWorld(t, 'rlx');
  const toM = `${M_UNDER_A}:${PORT}`;
  const inner = Buffer.from('81cafe0102030405', 'hex');
  const valid = (counter: bigint, dest = TAG.b) =>
    envelope({ flags: 0, macTag: TAG.a, otherTag: dest, receiverTag: TAG.m, counter, key: keys.am, inner });

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

  // From a non-member: a tag M has no key for; and to a non-member, from a member.
  const stranger = envelope({
    flags: 0,
    macTag: TAG.stranger,
    otherTag: TAG.b,
    receiverTag: TAG.m,
    counter: 1n,
    key: randomBytes(32),
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
    key: randomBytes(32),
    inner,
  });
  await m.call('sendControl', hex(fake), `${B_UNDER}:${PORT}`);
  // A relays for no one: setRelayService was never called there.
  await m.call('sendControl', hex(valid(7n)), `${A_UNDER}:${PORT}`);

  // Bounded wait for the last datagrams to land; then every count must be exact.
  let sm: Record<string, number> = {};
  const deadline = Date.now() + 5_000;
  for (;;) {
    sm = await m.stats();
    const sb = await b.stats();
    const sa = await a.stats();
    const done =
      sm['relayDroppedBadMac'] === 1 &&
      sm['relayDroppedReplay'] === 1 &&
      sm['relayDroppedUnknownTag'] === 1 &&
      sm['relayDroppedNotMember'] === 1 &&
      sb['relayDroppedBadMac'] === 1 &&
      sa['relayDroppedDisabled'] === 1;
    if (done || Date.now() > deadline) {
      t.like(sm, {
        relayForwarded: 1,
        relayDroppedBadMac: 1,
        relayDroppedReplay: 1,
        relayDroppedUnknownTag: 1,
        relayDroppedNotMember: 1,
      });
      t.like(sb, { relayedIn: 1, relayDroppedBadMac: 1 });
      t.like(sa, { relayDroppedDisabled: 1 });
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  t.is(b.controls().length, 1, 'only the one valid envelope reached B');
});

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

    await a.call('setPeerPath', ID_B, { relay: ID_M });
    await b.call('setPeerPath', ID_A, { relay: ID_M });
    const relayed = ping(nsB, A_OVER, 5);
    t.is(relayed.received, 5, relayed.output);
    t.true((await m.stats())['relayForwarded']! >= before + 10);
  },
);
