/**
 * What the receive thread lets up to JavaScript (native/src/datapath/admission.h), attacked from a
 * namespace: overlay datagrams without this node's mac1, or of types a node never takes, are
 * dropped and counted in the data path; strangers share one small budget that can never starve a
 * member's messages or a WireGuard handshake; a member over its own budget costs only itself.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { mac1Key } from '../../core/overlayWire/sealed.js';
import { RelayNode, settledStats } from '../fixtures/relay-world.js';
import { JsonLinesChild } from '../helpers/jsonLines.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { rootTest } from '../helpers/root.js';

const SENDER = fileURLToPath(new URL('../fixtures/udp-send.js', import.meta.url));
const PORT = 51820;
const B_UNDER = '192.0.2.2';
const B_KEY = randomBytes(32);
const MEMBER_KEY = randomBytes(32);
const OTHER_MEMBER_KEY = randomBytes(32);

/** A sealed-looking datagram from `sender` with the mac1 B expects (or a wrong one). */
function sealed(sender: Uint8Array, options: { goodMac?: boolean; size?: number } = {}): Buffer {
  const d = randomBytes(options.size ?? 200);
  d[0] = 0x80;
  Buffer.from(sender).copy(d, 1);
  const at = d.length - 16;
  if (options.goodMac ?? true) {
    createHmac('sha256', mac1Key(B_KEY)).update(d.subarray(0, at)).digest().copy(d, at, 0, 16);
  }
  return d;
}

function initiationSized(): Buffer {
  const d = randomBytes(148);
  d[0] = 1;
  d[1] = d[2] = d[3] = 0;
  return d;
}

async function world(t: ExecutionContext, tag: string, options: Record<string, number>) {
  const ns = new Netns(`${tag}s`);
  t.teardown(() => ns.destroy());
  const nb = new Netns(`${tag}b`);
  t.teardown(() => nb.destroy());
  vethPair(ns, '192.0.2.1/24', nb, `${B_UNDER}/24`);
  const b = await RelayNode.start(nb, '100.64.0.2/24', options);
  await b.call('setSealedScreen', { hex: Buffer.from(mac1Key(B_KEY)).toString('hex') });
  await b.call('setPeer', 1, ['100.64.0.1/32'], '192.0.2.1:51820', {
    publicKey: { hex: MEMBER_KEY.toString('hex') },
  });
  await b.call('setPeer', 3, ['100.64.0.3/32'], null, {
    publicKey: { hex: OTHER_MEMBER_KEY.toString('hex') },
  });
  const sender = (port?: number) =>
    new JsonLinesChild(
      ns.spawn(process.execPath, [SENDER, ...(port ? [String(port)] : [])], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
      'sender',
    );
  const send = async (from: JsonLinesChild, datagrams: Buffer[]) => {
    const since = from.events.length;
    from.command({ to: B_UNDER, port: PORT, hexes: datagrams.map((d) => d.toString('hex')) });
    await from.waitFor('the datagrams to go out', (e) => e.event === 'sent', 20_000, since);
  };
  const anywhere = sender();
  // The member's own address and port, as B knows them.
  const asMember = sender(PORT);
  return {
    b,
    send: (datagrams: Buffer[]) => send(anywhere, datagrams),
    sendAsMember: (datagrams: Buffer[]) => send(asMember, datagrams),
  };
}

/** Every datagram the data path received is accounted for by exactly one of these. */
const OUTCOMES = ['rxControl', 'rxJunk', 'rxSealedBadMac', 'rxOverlayMemberRate', 'rxOverlayStrangerRate'];

function delta(after: Record<string, number>, before: Record<string, number>, key: string): number {
  return after[key]! - (before[key] ?? 0);
}

/**
 * Waits (bounded) until the data path has received nothing new for a while and every control
 * datagram it counted has reached JavaScript; returns its stats and what went up since `before`.
 */
async function settle(b: RelayNode, before: Record<string, number>, upBefore: number) {
  let last = -1;
  const deadline = Date.now() + 15_000;
  for (;;) {
    const stats = await b.stats();
    const up = b
      .controls()
      .slice(upBefore)
      .map((c) => c['data'] as string);
    const quiet = stats['rxDatagrams'] === last && up.length === delta(stats, before, 'rxControl');
    if (quiet || Date.now() > deadline) return { stats, up };
    last = stats['rxDatagrams']!;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** Every datagram received is accounted for by exactly one outcome counter. */
function accountedFor(t: ExecutionContext, after: Record<string, number>, before: Record<string, number>) {
  t.is(
    OUTCOMES.reduce((n, k) => n + delta(after, before, k), 0),
    delta(after, before, 'rxDatagrams'),
    'every datagram received is accounted for',
  );
}

rootTest(
  test,
  'overlay datagrams without our mac1, or of a type no node takes, stop in the data path, counted',
  async (t) => {
    const { b, send } = await world(t, 'adj', {});
    const before = await b.stats();
    const badMac = Array.from({ length: 500 }, () => sealed(randomBytes(32), { goodMac: false }));
    const junk = [
      ...Array.from({ length: 100 }, () => Buffer.concat([Buffer.from([0x82]), randomBytes(80)])),
      ...Array.from({ length: 100 }, () => Buffer.concat([Buffer.from([0x90]), randomBytes(200)])),
      ...Array.from({ length: 50 }, () => sealed(randomBytes(32), { size: 60 })), // too short to be sealed
    ];
    await send([...badMac, ...junk]);
    const after = await settledStats(b, {
      rxSealedBadMac: before['rxSealedBadMac']! + 500,
      rxJunk: before['rxJunk']! + 250,
    });
    t.is(delta(after, before, 'rxSealedBadMac'), 500);
    t.is(delta(after, before, 'rxJunk'), 250);
    t.is(delta(after, before, 'rxControl'), 0);
    t.is(b.controls().length, 0, 'nothing went up to JavaScript');
  },
);

rootTest(
  test,
  "a stranger flood uses up only the strangers' budget: members' messages and a handshake still go up",
  async (t) => {
    const { b, send } = await world(t, 'ads', { strangersPerSecond: 100 });
    const before = await b.stats();
    const strangers = () => Array.from({ length: 1_500 }, () => sealed(randomBytes(32)));
    const members = () => Array.from({ length: 25 }, () => sealed(MEMBER_KEY));
    const fromMembers = [...members(), ...members()];
    const handshake = initiationSized();
    const started = Date.now();
    await send([
      ...strangers(),
      ...fromMembers.slice(0, 25),
      handshake,
      ...strangers(),
      ...fromMembers.slice(25),
    ]);
    const { stats: after, up } = await settle(b, before, 0);
    const elapsedS = (Date.now() - started) / 1000;
    accountedFor(t, after, before);
    const want = new Set([...fromMembers, handshake].map((d) => d.toString('hex')));
    t.is(up.filter((d) => want.has(d)).length, want.size, 'every member message and the handshake went up');
    const strangersUp = up.length - want.size;
    // A full bucket (100) and what it refills while the burst lasts.
    t.true(
      strangersUp <= 100 + Math.ceil(100 * elapsedS),
      `${strangersUp} strangers went up in ${elapsedS} s`,
    );
    t.is(delta(after, before, 'rxOverlayStrangerRate'), delta(after, before, 'rxDatagrams') - up.length);
    t.is(delta(after, before, 'rxOverlayMemberRate'), 0);
    t.log(`of 3000 stranger datagrams, ${strangersUp} went up (${elapsedS.toFixed(2)} s)`);
  },
);

rootTest(test, 'a member over its own budget costs only itself', async (t) => {
  const { b, send, sendAsMember } = await world(t, 'adm', { sealedPerPeerPerSecond: 50 });
  const before = await b.stats();
  const noisy = Array.from({ length: 500 }, () => sealed(MEMBER_KEY));
  const quiet = Array.from({ length: 20 }, () => sealed(OTHER_MEMBER_KEY));
  const started = Date.now();
  // The noisy member from its own endpoint (its main budget); the quiet one has no endpoint yet.
  await Promise.all([sendAsMember(noisy), send(quiet)]);
  const { stats: after, up } = await settle(b, before, 0);
  const elapsedS = (Date.now() - started) / 1000;
  accountedFor(t, after, before);
  const quietHex = new Set(quiet.map((d) => d.toString('hex')));
  t.is(up.filter((d) => quietHex.has(d)).length, 20, "the other member's messages all went up");
  const noisyUp = up.length - 20;
  t.true(
    noisyUp >= 50 && noisyUp <= 50 + Math.ceil(50 * elapsedS),
    `${noisyUp} of the noisy member's 500 went up`,
  );
  t.is(delta(after, before, 'rxOverlayMemberRate'), delta(after, before, 'rxDatagrams') - up.length);
});

rootTest(
  test,
  "a member's key claimed from another address draws on a budget of its own, not the member's",
  async (t) => {
    const { b, send, sendAsMember } = await world(t, 'adp', {
      sealedPerPeerPerSecond: 50,
      sealedElsewherePerSecond: 20,
    });
    const before = await b.stats();
    const real = Array.from({ length: 40 }, () => sealed(MEMBER_KEY));
    const spoofed = Array.from({ length: 2_000 }, () => sealed(MEMBER_KEY));
    const started = Date.now();
    await Promise.all([send(spoofed), sendAsMember(real)]);
    const { stats: after, up } = await settle(b, before, 0);
    const elapsedS = (Date.now() - started) / 1000;
    accountedFor(t, after, before);
    const realHex = new Set(real.map((d) => d.toString('hex')));
    t.is(up.filter((d) => realHex.has(d)).length, 40, "every message from the member's own endpoint went up");
    const spoofedUp = up.length - 40;
    t.true(spoofedUp <= 20 + Math.ceil(20 * elapsedS), `${spoofedUp} spoofed went up in ${elapsedS} s`);
    t.is(delta(after, before, 'rxOverlayMemberRate'), delta(after, before, 'rxDatagrams') - up.length);
  },
);
