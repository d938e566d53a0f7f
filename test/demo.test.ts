/** `sudo overlay demo --ci` runs the whole story to completion and leaves nothing behind. */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import test from 'ava';
import { cliPath, runCli } from './helpers/cli.js';
import { missingTools } from './helpers/mappingWorld.js';
import { removeNamespaces } from './helpers/netns.js';
import { rootTest } from './helpers/root.js';

/** The text of the demo's step whose heading starts with `heading`, up to the next step. */
function section(stdout: string, heading: string): string {
  const start = stdout.indexOf(`\n== ${heading}`);
  if (start < 0) return '';
  const end = stdout.indexOf('\n== ', start + 1);
  return stdout.slice(start, end < 0 ? undefined : end);
}

rootTest(
  test,
  'overlay demo --ci: NATs with a firewall and without go direct, one needs a relay, pings across; then every namespace is gone',
  async (t) => {
    let pid: number | undefined;
    // Whatever happens, nothing of this demo stays behind (other demos may run at the same time).
    t.teardown(() => {
      if (pid !== undefined) removeNamespaces(new RegExp(`^ovldemo${pid}\\b`));
    });
    const started = Date.now();
    const r = await runCli(['demo', '--ci'], { timeoutMs: 120_000, killSignal: 'SIGTERM' });
    pid = r.pid;
    t.log(`the demo took ${((Date.now() - started) / 1000).toFixed(1)} s`);
    t.is(r.code, 0, r.stderr);
    // a's NAT keeps ports behind a firewall, e's keeps them with none (plain MASQUERADE): both go
    // direct to p and to each other, at the port each announced (no stray packet took it at e's NAT);
    // b's NAT gives each destination its own port, and b, seen by one public member only, cannot tell:
    // no birthday probing, so b stays on the relay with both.
    const aView = section(r.stdout, "a's view");
    t.regex(aView, /^p\s+100\.\S+\s+yes\s+direct\s+203\.0\.113\.10:51820/m, 'a reaches p directly');
    t.regex(aView, /^e\s+100\.\S+\s+yes\s+direct\s+203\.0\.113\.3:51820/m, 'a reaches e directly');
    t.regex(aView, /^b\s+100\.\S+\s+yes\s+relay via p/m, 'a reaches b through p');
    const eView = section(r.stdout, "e's view");
    t.regex(eView, /^p\s+100\.\S+\s+yes\s+direct\s+203\.0\.113\.10:51820/m, 'e reaches p directly');
    t.regex(eView, /^a\s+100\.\S+\s+yes\s+direct\s+203\.0\.113\.1:51820/m, 'e reaches a directly');
    t.regex(eView, /^b\s+100\.\S+\s+yes\s+relay via p/m, 'e reaches b through p');
    // Each header shows its NAT's filtering as a member measured it (the demo waits for it); where the
    // filter test tells a firewall from none, the words must say which (filterTest.ts, view/nat.ts).
    t.regex(aView, /^NAT: .*\binbound filtered, firewall$/m, "a's NAT: filtered, by a firewall");
    t.regex(eView, /^NAT: .*\binbound filtered, no firewall$/m, "e's NAT: filtered, with no firewall");
    t.is([...r.stdout.matchAll(/3 packets transmitted, 3 received/g)].length, 3, r.stdout);
    t.regex(r.stdout, /^pong from p \(100\.\S+\) via 203\.0\.113\.10:51820 \(direct\) in [\d.]+ ms$/m);
    t.regex(r.stdout, /^pong from e \(100\.\S+\) via 203\.0\.113\.3:51820 \(direct\) in [\d.]+ ms$/m);
    t.regex(r.stdout, /^pong from b \(100\.\S+\) via p \(relay\) in [\d.]+ ms$/m);
    // The second internet: a pair behind port-per-destination NATs whose routers map ports goes direct
    // (issue 13's done-when), at a mapped address on 11.0.0.0/24, and the panel's why says how.
    if (missingTools().length === 0) {
      t.regex(r.stdout, /^d\s+100\.\S+\s+yes\s+direct\s+11\.0\.0\.\d+:\d+/m, 'c reaches d directly');
      t.regex(r.stdout, /^port mapping: (PCP|NAT-PMP|UPnP) maps 11\.0\.0\.\d+:\d+ to UDP 51820$/m);
      t.regex(
        r.stdout,
        /^why: d's (router|NAT gives each destination its own port; its router) maps a port for it/m,
      );
    } else t.regex(r.stdout, /port mapping: skipped/);
    t.regex(r.stdout, /nothing of the demo is left/);
    const left = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    t.notRegex(left, new RegExp(`ovldemo${pid}\\b`));
  },
);

rootTest(
  test,
  'a demo whose terminal closes (SIGHUP) mid-way removes its namespaces and processes',
  async (t) => {
    const child = spawn(process.execPath, [cliPath, 'demo', '--ci'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const pid = child.pid!;
    t.teardown(() => {
      child.kill('SIGKILL');
      removeNamespaces(new RegExp(`^ovldemo${pid}\\b`));
    });
    const ours = () =>
      execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
        .split('\n')
        .filter((line) => line.startsWith(`ovldemo${pid}-`));
    // What runs in its namespaces (p's node, by now), with each one's command line.
    const processesIn = (namespaces: string[]) =>
      namespaces.flatMap((ns) =>
        execFileSync('ip', ['netns', 'pids', ns.split(' ')[0]!], { encoding: 'utf8' })
          .split(/\s+/)
          .filter(Boolean)
          .flatMap((pid) => {
            try {
              return [{ pid: Number(pid), args: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0') }];
            } catch {
              return []; // ended meanwhile (a short `overlay invite`)
            }
          }),
      );
    // Killed (a zombie not yet reaped counts: it runs nothing) or gone.
    const ended = (pid: number) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
      } catch {
        return true;
      }
    };
    let stdout = '';
    let hungUpWith: string[] = [];
    let runningAtHangUp: ReturnType<typeof processesIn> = [];
    const exited = new Promise<number | null>((resolve) => {
      child.on('close', resolve);
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString();
        // p is up in its namespace and a, e and b are joining at once: a hang-up now leaves the most behind.
        if (hungUpWith.length === 0 && stdout.includes('== p invites')) {
          hungUpWith = ours();
          runningAtHangUp = processesIn(hungUpWith);
          child.kill('SIGHUP');
        }
      });
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), 60_000);
    const code = await exited;
    clearTimeout(timer);
    t.is(hungUpWith.length, 8, `the demo's namespaces when it was hung up: ${hungUpWith.join(', ')}`);
    t.is(code, 129, stdout);
    t.deepEqual(ours(), []);
    // p's node was up, with its state under the demo's temporary directory: both gone now.
    const node = runningAtHangUp.find((p) => p.args.includes('--foreground'));
    t.truthy(node, JSON.stringify(runningAtHangUp));
    const stateDir = node!.args[node!.args.indexOf('--state-dir') + 1]!;
    t.regex(stateDir, /overlay-demo-\w+\/p$/);
    t.false(existsSync(dirname(stateDir)), 'its temporary directory is gone');
    // SIGKILL is delivered on the way out: allow it a moment.
    for (let i = 0; i < 30 && !runningAtHangUp.every((p) => ended(p.pid)); i++) await sleep(100);
    t.deepEqual(
      runningAtHangUp.filter((p) => !ended(p.pid)),
      [],
      'nothing that ran in its namespaces is left',
    );
  },
);

test('overlay demo needs root, and says so in one line', async (t) => {
  if (process.getuid?.() === 0) {
    const r = await runCli(['demo', '--ci'], {
      prefix: ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'],
    });
    t.is(r.code, 3, r.stderr);
    t.regex(r.stderr, /needs root.*sudo overlay demo/);
  } else {
    const r = await runCli(['demo', '--ci']);
    t.is(r.code, 3);
  }
});
