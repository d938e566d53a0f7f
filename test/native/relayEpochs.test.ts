/**
 * Relay epochs (issue 10, hole 4), as root in namespaces this file makes: every data path has its
 * own relay keys, so no nonce repeats across a crash and restart, and a relay that learns a
 * restarted member's new epoch takes its envelopes again at once, counting from 0.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import {
  A_OVER,
  A_UNDER,
  B_OVER,
  configureEnd,
  configureRelay,
  type EnvelopeKey,
  envelope,
  envelopeKey,
  hex,
  ID_B,
  ID_M,
  M_UNDER_A,
  type Pairs,
  PORT,
  pairsOf,
  RelayNode,
  relayWorld,
  settledStats,
  TAG,
} from '../fixtures/relay-world.js';
import { JsonLinesChild, until } from '../helpers/jsonLines.js';
import { Netns, vethPair } from '../helpers/netns.js';
import { ping } from '../helpers/overlayNode.js';
import { rootTest } from '../helpers/root.js';

const sinkScript = fileURLToPath(new URL('../fixtures/udp-sink.js', import.meta.url));

/** A data path in `ns` that relays its datagrams for B through M (the sink), as `pairs` say. */
async function startA(ns: Netns, pairs: Pairs): Promise<RelayNode> {
  const a = await RelayNode.start(ns, `${A_OVER}/24`);
  const session = {
    localIndex: 0x1111,
    remoteIndex: 0x2222,
    sendKey: randomBytes(32),
    receiveKey: randomBytes(32),
  };
  await configureEnd(a, 'a', pairs, session);
  return a;
}

/**
 * Envelopes from A through M: transport (pings to B, from the send thread) and control messages
 * (from the JavaScript thread, along B's path and through M explicitly), with M's relay key
 * removed and installed again midway. Returns how many were sent.
 */
async function sendSome(a: RelayNode, ns: Netns, pairs: Pairs): Promise<number> {
  const control = hex(Buffer.from('80c0ffee', 'hex'));
  const pings = ping(ns, B_OVER, 4, { intervalS: 0.1, waitS: 1 }).transmitted;
  const sent: unknown[] = [];
  for (let i = 0; i < 3; i++) sent.push(await a.call('sendControlToPeer', control, ID_B));
  await a.call('removeRelayKey', ID_M);
  const tags = { local: hex(TAG.a), remote: hex(TAG.m) };
  await a.call('setRelayKey', ID_M, hex(pairs.secrets.am), tags, hex(pairs.epochs.m));
  for (let i = 0; i < 3; i++) sent.push(await a.call('sendControlVia', control, ID_B, ID_M));
  if (!sent.every((x) => x === true)) throw new Error(`a control message found no path: ${sent}`);
  return pings + sent.length;
}

// Member A's data path sends its envelopes for B to a "relay" that only listens, so the test sees
// every envelope A ever sends.
rootTest(
  test,
  'no (key, nonce) pair is sent twice: across a relay key reinstalled and a data path killed and restarted',
  async (t) => {
    const nsA = new Netns('rna');
    t.teardown(() => nsA.destroy());
    const nsM = new Netns('rnm');
    t.teardown(() => nsM.destroy());
    vethPair(nsA, `${A_UNDER}/24`, nsM, `${M_UNDER_A}/24`);
    const sink = new JsonLinesChild(
      nsM.spawn(process.execPath, [sinkScript], { stdio: ['pipe', 'pipe', 'inherit'] }),
      'udp sink',
    );
    await sink.request({ address: M_UNDER_A, port: PORT }, 'ready');
    const envelopes = () =>
      sink.events.filter((e) => e.event === 'datagram').map((e) => Buffer.from(e['hex'] as string, 'hex'));
    // The same secrets, and the same epochs of M and B, in every life of A (its own is its data path's).
    const pairs: Pairs = {
      secrets: { am: randomBytes(32), mb: randomBytes(32), ab: randomBytes(32) },
      epochs: { a: Buffer.alloc(16), m: randomBytes(16), b: randomBytes(16) },
    };

    const lives: { key: EnvelopeKey; envelopes: Buffer[] }[] = [];
    for (let life = 0; life < 2; life++) {
      const a = await startA(nsA, pairs);
      const key = envelopeKey(
        pairs.secrets.am,
        { tag: TAG.a, epoch: a.epoch },
        { tag: TAG.m, epoch: pairs.epochs.m },
      );
      const before = envelopes().length;
      const sent = await sendSome(a, nsA, pairs);
      await until('the sink to get every envelope', () => envelopes().length >= before + sent);
      // A crash: no goodbye, nothing saved.
      a.io.child.kill('SIGKILL');
      await until('A to be gone', () => a.io.child.exitCode !== null || a.io.child.signalCode !== null);
      lives.push({ key, envelopes: envelopes().slice(before) });
    }
    t.notDeepEqual(lives[0]!.key.key, lives[1]!.key.key, 'each life of the data path has its own key');

    const seen = new Map<string, number>();
    for (const { key, envelopes: sent } of lives) {
      for (const e of sent) {
        // Every envelope is MACed with the key of its life, as the test derives it (so the nonces
        // below are counted under the right key), and names that key by its id.
        const remade = envelope({
          flags: e[1]!,
          macTag: e.subarray(4, 12),
          otherTag: e.subarray(12, 20),
          receiverTag: TAG.m,
          counter: e.readBigUInt64LE(20),
          key,
          inner: e.subarray(44),
        });
        t.deepEqual(remade, e, 'an envelope A sent verifies under the key of its epoch');
        const nonce = `${key.key.toString('hex')} ${e.subarray(4, 12).toString('hex')} ${e.readBigUInt64LE(20)}`;
        seen.set(nonce, (seen.get(nonce) ?? 0) + 1);
      }
    }
    const repeated = [...seen].filter(([, n]) => n > 1);
    t.is(seen.size, lives[0]!.envelopes.length + lives[1]!.envelopes.length);
    t.deepEqual(repeated, [], `${repeated.length} of ${seen.size} nonces sent more than once`);
  },
);

rootTest(
  test,
  "a member's restarted data path is relayed again once the relay has its new epoch; until then its envelopes are stale",
  async (t) => {
    const w = await relayWorld(t, 'rle');
    t.is(ping(w.nsA, B_OVER, 3).received, 3);
    // A crashes and starts again: a new data path, a new epoch, its envelope counter from 0 again.
    w.a.io.child.kill('SIGKILL');
    await until('A to be gone', () => w.a.io.child.exitCode !== null || w.a.io.child.signalCode !== null);
    const a = await RelayNode.start(w.nsA, `${A_OVER}/24`);
    t.notDeepEqual(a.epoch, w.a.epoch);
    const pairs = pairsOf({ ...w, a });
    const aToB = randomBytes(32);
    const bToA = randomBytes(32);
    await configureEnd(a, 'a', pairs, {
      localIndex: 0x5555,
      remoteIndex: 0x6666,
      sendKey: aToB,
      receiveKey: bToA,
    });

    // M still holds the key of A's old epoch: A's envelopes are stale there, dropped before any MAC work.
    const before = await w.m.stats();
    t.is(ping(w.nsA, B_OVER, 3, { waitS: 1 }).received, 0);
    const expected = { relayDroppedStaleKey: before['relayDroppedStaleKey']! + 3 };
    t.like(await settledStats(w.m, expected), { ...expected, relayDroppedBadMac: 0, relayDroppedReplay: 0 });

    // M and B learn A's new epoch (from its new endpoint record, in a node): a new key with a new
    // replay window, where A's counter from 0 passes.
    await configureRelay(w.m, pairs);
    await configureEnd(w.b, 'b', pairs, {
      localIndex: 0x6666,
      remoteIndex: 0x5555,
      sendKey: bToA,
      receiveKey: aToB,
    });
    t.is(ping(w.nsA, B_OVER, 5).received, 5);
    t.is(ping(w.nsB, A_OVER, 5).received, 5);
    t.like(await w.m.stats(), { relayDroppedBadMac: 0, relayDroppedReplay: 0 });
  },
);
