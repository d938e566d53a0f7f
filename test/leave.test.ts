/**
 * `overlay leave` and `down`'s bye, end to end as root on a LAN of namespaces (issue 15, points 3
 * and 5): a member leaves and every other drops it within seconds; a kicked member gets out of its
 * dead end and joins again; the founder is not let go with the network key by accident; a member
 * that goes down shows offline at its peers at once (31 s before the bye).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { shellWord } from '../cli/pasteable.js';
import { waitUntil } from '../core/daemon/wait.js';
import { cliPath } from './helpers/cli.js';
import type { OverlayHost } from './helpers/lan.js';
import { everyoneKnowsEveryone, network, polledStatus, status } from './helpers/overlayNetwork.js';
import { ping } from './helpers/overlayNode.js';
import { rootTest } from './helpers/root.js';

/** The command's output as a person at a terminal sees it (script(1) gives it a pty): progress lines, prompts, the QR code. */
function onTerminal(host: OverlayHost, args: string[]): string {
  const command = [process.execPath, cliPath, ...args, '--state-dir', host.stateDir].map(shellWord).join(' ');
  return host.ns.exec('script', ['-qec', command, '/dev/null'], 60_000).replace(/\r/g, '');
}

/** Polls an async check every 100 ms; fails naming `what` after `timeoutMs`. */
async function until(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  if (!(await waitUntil(check, timeoutMs, 100)))
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

rootTest(
  test,
  'leave: the members drop the leaver within seconds; its state goes; it joins again with new keys. down says bye',
  async (t) => {
    const [a, b, c] = await network(t, 'lv', ['a', 'b', 'c']);
    await everyoneKnowsEveryone([a!, b!, c!], 10_000);

    // No terminal to ask on: refused, with the command to paste.
    const unasked = await c!.run(['leave']);
    t.is(unasked.code, 2, unasked.stderr);
    t.regex(unasked.stderr, /asks for confirmation/);
    t.true(unasked.stderr.includes(`overlay leave --state-dir ${c!.stateDir} --yes`), unasked.stderr);
    // The founder holds the network key: not without --force.
    const founder = await a!.run(['leave', '--yes']);
    t.is(founder.code, 2);
    t.regex(founder.stderr, /holds the network key/);
    t.true(existsSync(join(a!.stateDir, 'network.json')));

    const cAddress = (await status(c!)).self.addresses[0]!;
    const oldKey = (await c!.json<{ publicKey: string }>(['whoami'])).publicKey;
    const leftAt = Date.now();
    const left = await c!.ok(['leave', '--yes']);
    t.regex(left.stdout, /^c left the network: told 2 members/m, left.stdout);
    t.true(
      left.stdout.includes(`Next: join a network with sudo overlay join --state-dir ${c!.stateDir} CODE`),
      left.stdout,
    );
    for (const node of [a!, b!]) {
      await until(`${node.stateDir} to drop c`, 5_000, async () =>
        (await polledStatus(node)).peers.every((p) => p.name !== 'c'),
      );
    }
    t.log(`a and b dropped c ${Date.now() - leftAt} ms after leave began`);
    t.deepEqual(
      readdirSync(c!.stateDir).filter((f) => f.endsWith('.json')),
      [],
      'network, roster, invites and identity are gone',
    );
    t.is(ping(a!.ns, cAddress, 1).received, 0);
    const after = await c!.run(['status']);
    t.regex(after.stderr, /not in a network/);

    // A new invite, new keys: c is back, as an admin, through the human output on a terminal.
    const shown = onTerminal(a!, ['invite', '--admin']);
    t.regex(shown, /whoever joins with it becomes an admin/);
    t.regex(shown, /This node must be up when the code is used/);
    const code = shown.split('\n')[0]!.trim();
    const joining = onTerminal(c!, ['join', code, '--name', 'c2']);
    t.regex(joining, /contacting the inviter \(attempt 1 of \d+\)\.\.\./, 'join shows progress');
    t.regex(joining, /Joined the network "\S+" as "c2"/);
    await c!.ok(['up']);
    t.not((await c!.json<{ publicKey: string }>(['whoami'])).publicKey, oldKey);
    t.regex((await c!.json<{ code: string }>(['invite'])).code, /\S/, 'c2 is an admin: it may invite');
    const listed = await a!.json<{ expires: string; admin: boolean }[]>(['invite', 'list']);
    for (const i of listed) t.regex(i.expires, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    await everyoneKnowsEveryone([a!, b!, c!], 10_000);

    // down says bye: a shows b offline at once, not when its silence runs out (31 s).
    await until('a to see b online', 10_000, async () =>
      (await polledStatus(a!)).peers.some((p) => p.name === 'b' && p.online),
    );
    const downAt = Date.now();
    await b!.ok(['down']);
    const returnedAt = Date.now();
    const bOf = async () => (await status(a!)).peers.find((p) => p.name === 'b');
    // Without the bye, 31 s.
    const polled = async () => (await polledStatus(a!)).peers.find((p) => p.name === 'b');
    await until('a to show b offline', 10_000, async () => (await polled())?.online === false).catch(
      async (e) => {
        t.log(JSON.stringify(await bOf()));
        t.log(readFileSync(join(a!.stateDir, 'overlay.log'), 'utf8').split('\n').slice(-30).join('\n'));
        throw e;
      },
    );
    t.log(
      `down took ${returnedAt - downAt} ms; a showed b offline ${Date.now() - returnedAt} ms after it returned`,
    );
    t.like(await bOf(), { online: false, path: null, rttMs: null });
    // a's log says so once, by name.
    const told = readFileSync(join(a!.stateDir, 'overlay.log'), 'utf8')
      .split('\n')
      .filter((l) => /path to b: none/.test(l));
    t.is(told.length, 1, told.join('\n'));
    t.regex(told[0]!, /path to b: none \(peer-left\)$/);
  },
);

rootTest(
  test,
  "a kicked member's dead end: join names the way out, leave takes it, and it joins again",
  async (t) => {
    const [a, b] = await network(t, 'lk', ['a', 'b']);
    await everyoneKnowsEveryone([a!, b!], 10_000);
    await a!.ok(['kick', 'b']);
    // A removed node's status says so, and names the way out.
    await until('b to hear it was removed', 10_000, async () => {
      const r = await b!.run(['status']);
      return r.code === 2 && /expired or revoked/.test(r.stderr) && r.stderr.includes('overlay leave');
    });
    const { code } = await a!.json<{ code: string }>(['invite']);
    const stuck = await b!.run(['join', code]);
    t.is(stuck.code, 2);
    t.regex(stuck.stderr, /removed from its network/);
    t.true(stuck.stderr.includes(`overlay leave --state-dir ${b!.stateDir}`), stuck.stderr);
    const left = await b!.ok(['leave', '--yes']);
    t.regex(left.stdout, /no longer a member/);
    await b!.ok(['join', code, '--name', 'b2']);
    await b!.ok(['up']);
    await everyoneKnowsEveryone([a!, b!], 10_000);

    // What a sees when that member crashes later (kill -9, no bye) is a whole-node twin test
    // (test/twins/nodes.test.ts, 'vanishes without a word'): 40 s of silence cost no wall time there.
  },
);
