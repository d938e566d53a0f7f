/**
 * The real `overlay status` live view, driven in tmux like a person would: against a running
 * two-node network in namespaces this file makes; keys sent with send-keys, the screen read back
 * with capture-pane.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { cliPath } from './helpers/cli.js';
import { until } from './helpers/jsonLines.js';
import { everyoneKnowsEveryone, network } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

function tmux(...args: string[]): string {
  return execFileSync('tmux', args, { encoding: 'utf8', timeout: 10_000 });
}

/** One key at a time, as a person types: keys sent together arrive as one chunk of input. */
async function press(session: string, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    tmux('send-keys', '-t', session, key);
    await new Promise((r) => setTimeout(r, 200));
  }
}

rootTest(
  test,
  'the live view shows members, moves, opens the detail panel, filters, and quits with q',
  async (t) => {
    const [alpha, bravo] = await network(t, 'sv', ['alpha', 'bravo']);
    await everyoneKnowsEveryone([alpha!, bravo!], 10_000);
    const bravoAddr = (await bravo!.json<{ self: { addresses: string[] } }>(['status'])).self.addresses[0]!;
    t.is(ping(alpha!.ns, bravoAddr, 2).received, 2);

    const session = `ovl-sv-${process.pid}-${randomBytes(3).toString('hex')}`;
    const command = `ip netns exec ${alpha!.ns.name} ${process.execPath} ${cliPath} status --state-dir ${alpha!.stateDir}`;
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '100',
      '-y',
      '30',
      // Ink draws only the last frame when CI is set; a person's terminal has no CI variable.
      `env -u CI NO_COLOR=1 ${command}; echo "[status exited: $?]"; sleep 60`,
    );
    t.teardown(() => {
      try {
        tmux('kill-session', '-t', session);
      } catch {
        // already gone: q ended it
      }
    });
    const screen = () => tmux('capture-pane', '-p', '-t', session);
    const waitFor = (what: string, re: RegExp) =>
      until(what, () => re.test(screen()), 8000).catch(() => {
        throw new Error(`${what} not on screen:\n${screen()}`);
      });

    await waitFor('the member table', /› \* bravo\s+100\.\d+\.\d+\.\d+\s+direct/);
    t.regex(screen(), /^alpha\s+100\./m);
    t.regex(screen(), /endpoints 192\.0\.2\.1:51820/);

    await press(session, 'j', 'k', 'Enter');
    await waitFor('the detail panel', /│ path\s+direct/);
    t.regex(screen(), /│ endpoint\s+192\.0\.2\.2:51820/);
    t.regex(screen(), /│ certificate\s+member; expires in/);

    await press(session, 'Escape');
    await waitFor('the table again', /› \* bravo/);
    await press(session, '/', 'z', 'z', 'z');
    await waitFor('the filter', /zzz/);
    t.notRegex(screen(), /› \* bravo/);
    await press(session, 'Escape');
    await waitFor('the unfiltered table', /› \* bravo/);

    await press(session, 'p');
    await waitFor('a ping result', /ping bravo: [\d.]+ ?ms via direct/);

    await press(session, 'q');
    await waitFor('the view to quit with exit code 0', /\[status exited: 0\]/);
  },
);
