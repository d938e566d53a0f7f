/**
 * `up --relay-rate MBIT` (issue 12, point 4): what each member may send through this node as its
 * relay, remembered like --relay and --stun. The budget itself is enforced in the data path
 * (test/native/relay.test.ts › "a relay holds each sender to its byte rate and counts what it drops").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { isRelayRate, parseRelayRateFlag } from '../core/node/flags.js';
import type { NodeStatus } from '../core/node/status.js';
import { DEFAULT_RELAY_RATE_MBIT, MAX_RELAY_RATE_MBIT, relayBytesPerSecond } from '../core/tunnel/types.js';
import { lan, OverlayHost } from './helpers/lan.js';
import { stateRoot } from './helpers/overlayNetwork.js';
import { rootTest } from './helpers/root.js';

test('--relay-rate takes a whole number of Mbit/s from 1 to the largest the data path counts', (t) => {
  t.is(parseRelayRateFlag('1'), 1);
  t.is(parseRelayRateFlag('2000'), 2000);
  t.is(parseRelayRateFlag(String(MAX_RELAY_RATE_MBIT)), MAX_RELAY_RATE_MBIT);
  for (const bad of ['0', String(MAX_RELAY_RATE_MBIT + 1), '1.5', '-5', '1e3', 'fast', '', ' 100']) {
    t.throws(() => parseRelayRateFlag(bad), { message: /is not a rate in Mbit\/s/ }, bad);
  }
  t.false(isRelayRate(0.5));
  // The largest fits the data path's 32-bit byte count.
  t.true(relayBytesPerSecond(MAX_RELAY_RATE_MBIT) <= 0xffffffff);
  t.is(relayBytesPerSecond(DEFAULT_RELAY_RATE_MBIT), 250_000_000);
});

rootTest(
  test,
  'up remembers --relay-rate for the next up, says it in status, and refuses it with --no-relay',
  async (t) => {
    const { hosts } = lan(t, 'rr', 1);
    const a = new OverlayHost(hosts[0]!, join(stateRoot(t), 'a'));
    await a.ok(['init', '--name', 'a']);
    const self = async () => (await a.json<NodeStatus>(['status'])).self;
    const clash = await a.run(['up', '--relay-rate', '500', '--no-relay']);
    t.is(clash.code, 2);
    t.regex(clash.stderr, /contradict/);
    const bad = await a.run(['up', '--relay-rate', '0']);
    t.is(bad.code, 2);
    t.regex(bad.stderr, /--relay-rate "0" is not a rate in Mbit\/s/);
    await a.ok(['up']);
    t.like(await self(), { relay: true, relayRateMbit: DEFAULT_RELAY_RATE_MBIT });
    // Refused while running: the running node keeps its rate.
    t.not((await a.run(['up', '--relay-rate', '500'])).code, 0);
    await a.ok(['down']);
    await a.ok(['up', '--relay-rate', '500']);
    t.like(await self(), { relayRateMbit: 500 });
    await a.ok(['down']);
    await a.ok(['up']);
    t.like(await self(), { relayRateMbit: 500 }, 'remembered');
    await a.ok(['down']);
    const file = JSON.parse(readFileSync(join(a.stateDir, 'network.json'), 'utf8')) as Record<
      string,
      unknown
    >;
    t.is(file['relayRateMbit'], 500);
  },
);
