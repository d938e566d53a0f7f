import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OverlayError } from '../../core/errors.js';
import type { NodeStatus } from '../../core/node/status.js';
import { type Command, type CommandContext, flagBool } from '../command.js';
import { DemoWorld } from '../demo/demoWorld.js';
import { systemTool } from '../demo/mappingRouter.js';
import { explainPath } from '../view/pathExplanation.js';
import { renderStatus } from './status.js';

const mainScript = fileURLToPath(new URL('../main.js', import.meta.url));
/**
 * How long at most the members get to find their paths, and a member to measure their NATs'
 * filtering, before the demo shows them (both took 4-6 s after `up` on an idle machine).
 */
const SETTLE_MS = 15_000;

/** How long the port-mapped pair gets to go direct. */
const MAPPED_DIRECT_MS = 25_000;

/** `overlay ARGS` inside namespace `ns`, with its own state directory; resolves to its stdout. */
function overlayIn(ns: string, stateDir: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'ip',
      ['netns', 'exec', ns, process.execPath, mainScript, ...args, '--state-dir', stateDir],
      {
        encoding: 'utf8',
        timeout: timeoutMs,
        // In the demo's namespaces the gateway is the demo's own router: asking it is the point (an
        // OVERLAY_PORT_MAPPING=off meant for the host's real gateway does not apply here).
        env: { ...process.env, OVERLAY_PORT_MAPPING: '' },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const last = (stderr || stdout || error.message).trim().split('\n').pop();
        reject(new OverlayError('EINTERNAL', `demo: overlay ${args[0]} failed: ${last}`));
      },
    );
  });
}

/** A member of the demo: its namespace and state directory. */
interface Member {
  readonly ns: string;
  readonly dir: string;
}

/**
 * `admin` invites each of `members` (one code at a time: invites change its state), then they all
 * join and come up at once, each with its `up` flags; returns each one's invite code and join output.
 */
async function joinAll(
  admin: Member,
  members: ReadonlyArray<Member & { readonly name: string; readonly up?: string[] }>,
): Promise<Array<{ code: string; joined: string }>> {
  const codes: string[] = [];
  for (const _ of members) codes.push((await overlayIn(admin.ns, admin.dir, ['invite'])).trim());
  return Promise.all(
    members.map(async (m, i) => {
      const joined = await overlayIn(m.ns, m.dir, ['join', codes[i]!, '--name', m.name]);
      await overlayIn(m.ns, m.dir, ['up', ...(m.up ?? [])]);
      return { code: codes[i]!, joined };
    }),
  );
}

/** Polls `m`'s status until `done` says so or `until` (a Date.now()) passes; returns the last one. */
async function statusUntil(m: Member, until: number, done: (s: NodeStatus) => boolean): Promise<NodeStatus> {
  for (;;) {
    const status = JSON.parse(await overlayIn(m.ns, m.dir, ['status', '--json'])) as NodeStatus;
    if (done(status) || Date.now() >= until) return status;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * What the first act shows of each member: p and the NATs that keep ports (with a firewall or
 * none) direct, b (a port per destination) through a relay, and this node's NAT as a member
 * measured its filtering, which is what tells a firewall from none (filterTest.ts; a few seconds
 * after the first direct path). An endpoint for b counts too: then the view shows whatever b's
 * path became.
 */
function settled(s: NodeStatus, direct: string[]): boolean {
  const peer = (name: string) => s.peers.find((p) => p.name === name);
  const b = peer('b');
  return (
    direct.every((name) => peer(name)?.path === 'direct') &&
    (b?.path === 'relay' || !!b?.endpoint) &&
    !!s.self.nat?.filtering
  );
}

/**
 * What init and join print, without their "Next:" lines: the demo runs those steps itself, and
 * pasted into the user's shell they would act outside the member's namespace.
 */
function withoutNext(output: string): string {
  const next = output.search(/^Next:/m);
  return next < 0 ? output : `${output.slice(0, next).trimEnd()}\n`;
}

function step(ctx: CommandContext, text: string): void {
  ctx.stdout.write(`\n== ${text}\n`);
}

export const demo: Command = {
  name: 'demo',
  summary: 'the whole story on this machine, in network namespaces: NATs, hole punching, a relay (root)',
  usage: '[--ci]',
  flags: {
    ci: { type: 'boolean', description: 'do not open the live view: print, ping, clean up and exit' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    if (process.getuid?.() !== 0) {
      throw new OverlayError('EPERM', 'the demo makes network namespaces, which needs root', {
        hint: 'sudo overlay demo',
      });
    }
    const world = new DemoWorld(`ovldemo${process.pid}`);
    const root = mkdtempSync(join(tmpdir(), 'overlay-demo-'));
    const cleanup = () => {
      world.destroy();
      rmSync(root, { recursive: true, force: true });
    };
    // Ctrl-C, a kill, or the terminal closing (SIGHUP, whose default would leave every namespace).
    const signals = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
    const onSignal = (signal: NodeJS.Signals) => {
      cleanup();
      process.exit(128 + (signals[signal as keyof typeof signals] ?? 0));
    };
    for (const signal of Object.keys(signals)) process.once(signal, onSignal);
    try {
      step(ctx, 'an internet in namespaces, with a router between its public addresses');
      ctx.stdout.write(
        [
          'p  public, at 203.0.113.10',
          'a  behind a NAT that keeps ports, with a firewall (as most home routers)',
          'e  behind a NAT that keeps ports, with no firewall: plain MASQUERADE (a host NATing for its VMs, a cloud NAT)',
          'b  behind a NAT that gives each destination its own port',
          '',
        ].join('\n'),
      );
      const ns = world.build();
      const m = {
        p: { ns: ns.p, dir: join(root, 'p') },
        a: { ns: ns.a, dir: join(root, 'a') },
        b: { ns: ns.b, dir: join(root, 'b') },
        e: { ns: ns.e, dir: join(root, 'e') },
      };
      step(ctx, 'p creates the network and comes up');
      ctx.stdout.write(withoutNext(await overlayIn(m.p.ns, m.p.dir, ['init', '--name', 'p'])));
      await overlayIn(m.p.ns, m.p.dir, ['up']);
      step(ctx, 'p invites a, e and b; they join from behind their NATs and come up, all three at once');
      const natted = (['a', 'e', 'b'] as const).map((name) => ({ name, ...m[name] }));
      for (const [i, { code, joined }] of (await joinAll(m.p, natted)).entries()) {
        ctx.stdout.write(`invite code for ${natted[i]!.name}: ${code}\n${withoutNext(joined)}`);
      }
      step(ctx, `members find their paths (${SETTLE_MS / 1000} s at most)...`);
      const until = Date.now() + SETTLE_MS;
      const status = await statusUntil(m.a, until, (s) => settled(s, ['p', 'e']));
      const statusE = await statusUntil(m.e, until, (s) => settled(s, ['p', 'a']));
      step(ctx, "a's view of the network: its NAT has a firewall");
      ctx.stdout.write(renderStatus(status));
      step(ctx, "e's view: its NAT has none, and it goes direct all the same");
      ctx.stdout.write(renderStatus(statusE));
      for (const target of ['p', 'e', 'b']) {
        const address = status.peers.find((p) => p.name === target)!.addresses[0]!;
        step(ctx, `a pings ${target} (${address}) through the overlay`);
        const r = spawnSync(
          'ip',
          ['netns', 'exec', m.a.ns, 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '2', address],
          {
            encoding: 'utf8',
            timeout: 20_000,
          },
        );
        ctx.stdout.write(r.stdout);
        if (r.status !== 0) throw new OverlayError('EINTERNAL', `demo: a could not reach ${target}`);
      }
      step(ctx, 'overlay ping says which path answers: p and e directly, b through p');
      for (const target of ['p', 'e', 'b']) {
        ctx.stdout.write(await overlayIn(m.a.ns, m.a.dir, ['ping', target, '-c', '2']));
      }
      await mappedPair(ctx, world, root);
      if (!flagBool(ctx, 'ci')) {
        step(ctx, "a's live view (q to quit; the demo then removes everything)");
        // Any member's own view, meanwhile, as the user would paste it (the demo runs as root).
        const sudo = ctx.env['SUDO_UID'] === undefined ? '' : 'sudo ';
        ctx.stdout.write(
          `e's, from another terminal: ${sudo}ip netns exec ${m.e.ns} overlay status --state-dir ${m.e.dir}\n`,
        );
        spawnSync(
          'ip',
          ['netns', 'exec', m.a.ns, process.execPath, mainScript, 'status', '--state-dir', m.a.dir],
          {
            stdio: 'inherit',
          },
        );
      }
      step(ctx, 'removing the namespaces');
    } finally {
      for (const signal of Object.keys(signals)) process.off(signal, onSignal);
      cleanup();
    }
    ctx.stdout.write('done: nothing of the demo is left on this machine\n');
  },
};

/**
 * The second act: two members behind NATs that pick a port per destination, whose routers map
 * ports (miniupnpd), go direct through the mapped ports. Skipped, saying so, without miniupnpd.
 */
async function mappedPair(ctx: CommandContext, world: DemoWorld, root: string): Promise<void> {
  const missing = ['miniupnpd', 'nft'].filter((tool) => systemTool(tool) === undefined);
  if (missing.length > 0) {
    step(ctx, `port mapping: skipped, ${missing.join(' and ')} not installed (Debian: miniupnpd-nftables)`);
    return;
  }
  step(
    ctx,
    'a second internet (11.0.0.0/24, no link to this host): c and d behind NATs that pick a port per destination, whose routers map ports (PCP, NAT-PMP, UPnP)',
  );
  const ns = await world.buildMapped(root);
  const q = { ns: ns.q, dir: join(root, 'q') };
  const c = { name: 'c', ns: ns.c, dir: join(root, 'c'), up: ['--port-mapping', 'auto'] };
  const d = { name: 'd', ns: ns.d, dir: join(root, 'd'), up: ['--port-mapping', 'auto'] };
  await overlayIn(q.ns, q.dir, ['init', '--name', 'q']);
  await overlayIn(q.ns, q.dir, ['up', '--port-mapping', 'off']);
  await joinAll(q, [c, d]);
  step(ctx, 'c and d ask their routers for a port, announce it, and punch through it...');
  const status = await statusUntil(
    c,
    Date.now() + MAPPED_DIRECT_MS,
    (s) => s.peers.find((p) => p.name === 'd')?.path === 'direct',
  );
  step(ctx, "c's view: d direct through a mapped port");
  ctx.stdout.write(renderStatus(status));
  const toD = status.peers.find((p) => p.name === 'd');
  if (toD) for (const line of explainPath(toD, status).why) ctx.stdout.write(`why: ${line}\n`);
}
