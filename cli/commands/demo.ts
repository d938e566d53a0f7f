import { spawnSync } from 'node:child_process';
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
/** How long the members get to find their paths before the demo shows them. */
const SETTLE_MS = 12_000;

/** How long the port-mapped pair gets to go direct. */
const MAPPED_DIRECT_MS = 25_000;

/** `overlay ARGS` inside namespace `ns`, with its own state directory. */
function overlayIn(ns: string, stateDir: string, args: string[], timeoutMs = 30_000): string {
  const r = spawnSync(
    'ip',
    ['netns', 'exec', ns, process.execPath, mainScript, ...args, '--state-dir', stateDir],
    {
      encoding: 'utf8',
      timeout: timeoutMs,
      // In the demo's namespaces the gateway is the demo's own router: asking it is the point (an
      // OVERLAY_PORT_MAPPING=off meant for the host's real gateway does not apply here).
      env: { ...process.env, OVERLAY_PORT_MAPPING: '' },
    },
  );
  if (r.status !== 0) {
    throw new OverlayError(
      'EINTERNAL',
      `demo: overlay ${args[0]} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`,
    );
  }
  return r.stdout;
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
    const onSignal = () => {
      cleanup();
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      step(
        ctx,
        'an internet in namespaces: public member p; a behind a NAT that keeps ports; b behind one that does not',
      );
      const ns = world.build();
      const dir = { p: join(root, 'p'), a: join(root, 'a'), b: join(root, 'b') };
      step(ctx, 'p creates the network and comes up');
      ctx.stdout.write(overlayIn(ns.p, dir.p, ['init', '--name', 'p']));
      overlayIn(ns.p, dir.p, ['up']);
      for (const name of ['a', 'b'] as const) {
        step(ctx, `p invites ${name}; ${name} joins from behind its NAT and comes up`);
        const code = overlayIn(ns.p, dir.p, ['invite']).trim();
        ctx.stdout.write(`invite code: ${code}\n`);
        ctx.stdout.write(overlayIn(ns[name], dir[name], ['join', code, '--name', name]));
        overlayIn(ns[name], dir[name], ['up']);
      }
      step(ctx, `members find their paths (${SETTLE_MS / 1000} s)...`);
      const until = Date.now() + SETTLE_MS;
      let status: NodeStatus | undefined;
      while (Date.now() < until) {
        status = JSON.parse(overlayIn(ns.a, dir.a, ['status', '--json'])) as NodeStatus;
        const toB = status.peers.find((p) => p.name === 'b');
        const toP = status.peers.find((p) => p.name === 'p');
        if ((toB?.path === 'relay' || toB?.endpoint) && toP?.path === 'direct') break;
        await new Promise((r) => setTimeout(r, 500));
      }
      step(ctx, "a's view of the network");
      ctx.stdout.write(renderStatus(status!));
      for (const target of ['p', 'b']) {
        const address = status!.peers.find((p) => p.name === target)!.addresses[0]!;
        step(ctx, `a pings ${target} (${address}) through the overlay`);
        const r = spawnSync(
          'ip',
          ['netns', 'exec', ns.a, 'ping', '-n', '-c', '3', '-i', '0.3', '-W', '2', address],
          {
            encoding: 'utf8',
            timeout: 20_000,
          },
        );
        ctx.stdout.write(r.stdout);
        if (r.status !== 0) throw new OverlayError('EINTERNAL', `demo: a could not reach ${target}`);
      }
      step(ctx, 'overlay ping says which path answers: p directly, b through p');
      for (const target of ['p', 'b']) ctx.stdout.write(overlayIn(ns.a, dir.a, ['ping', target, '-c', '2']));
      await mappedPair(ctx, world, root);
      if (!flagBool(ctx, 'ci')) {
        step(ctx, "a's live view (q to quit; the demo then removes everything)");
        spawnSync(
          'ip',
          ['netns', 'exec', ns.a, process.execPath, mainScript, 'status', '--state-dir', dir.a],
          {
            stdio: 'inherit',
          },
        );
      }
      step(ctx, 'removing the namespaces');
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
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
  const dir = { q: join(root, 'q'), c: join(root, 'c'), d: join(root, 'd') };
  overlayIn(ns.q, dir.q, ['init', '--name', 'q']);
  overlayIn(ns.q, dir.q, ['up', '--port-mapping', 'off']);
  for (const name of ['c', 'd'] as const) {
    const code = overlayIn(ns.q, dir.q, ['invite']).trim();
    overlayIn(ns[name], dir[name], ['join', code, '--name', name]);
    overlayIn(ns[name], dir[name], ['up', '--port-mapping', 'auto']);
  }
  step(ctx, 'c and d ask their routers for a port, announce it, and punch through it...');
  const until = Date.now() + MAPPED_DIRECT_MS;
  let status: NodeStatus | undefined;
  while (Date.now() < until) {
    status = JSON.parse(overlayIn(ns.c, dir.c, ['status', '--json'])) as NodeStatus;
    if (status.peers.find((p) => p.name === 'd')?.path === 'direct') break;
    await new Promise((r) => setTimeout(r, 500));
  }
  step(ctx, "c's view: d direct through a mapped port");
  ctx.stdout.write(renderStatus(status!));
  const toD = status!.peers.find((p) => p.name === 'd');
  if (toD) for (const line of explainPath(toD, status!).why) ctx.stdout.write(`why: ${line}\n`);
}
