/**
 * RTT is what packets see on the path they take (issue 13, point 4): on an idle veth, the RTT
 * `overlay status` shows for a member is within 0.3 ms of what `ping` through the tunnel says.
 * Before, it was discovery's round trip in JavaScript (both event loops' delays in it: 3–8 ms on a
 * loaded machine, where ping said 0.6 ms).
 */
import test from 'ava';
import { network, status } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

rootTest(test, "a member's RTT in status is within 0.3 ms of ping's median through the tunnel", async (t) => {
  const [a, b] = await network(t, 'rt', ['a', 'b']);
  const bAddr = (await status(b!)).self.addresses[0]!;
  t.is(ping(a!.ns, bAddr, 3).received, 3, 'the tunnel carries pings');
  // ping -c 20 through the tunnel while discovery pings the busy path every second; then what
  // status says of the same path, several readings (discovery's RTT is a smoothed one). CI runs
  // other tests beside this one, so the veth is not always idle: a round whose ping was slowed by
  // a busy CPU is measured again, three rounds at most. A status RTT taken in JavaScript (3–8 ms)
  // fails every round.
  const rounds: string[] = [];
  for (let round = 0; round < 3; round++) {
    const r = ping(a!.ns, bAddr, 20, { intervalS: 0.2 });
    t.is(r.received, 20, r.output);
    const pingMs = median(r.rttsMs);
    const shown: number[] = [];
    for (let i = 0; i < 5; i++) {
      const peer = (await status(a!)).peers.find((p) => p.name === 'b')!;
      t.is(peer.path, 'direct');
      shown.push(peer.rttMs!);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const statusMs = median(shown);
    rounds.push(`status ${statusMs} ms against ping ${pingMs} ms`);
    t.log(`ping median ${pingMs.toFixed(3)} ms; status RTT ${shown.join(', ')} ms (median ${statusMs})`);
    if (Math.abs(statusMs - pingMs) <= 0.3) return;
  }
  t.fail(`no round within 0.3 ms: ${rounds.join('; ')}`);
});
