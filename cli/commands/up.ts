import { fileURLToPath } from 'node:url';
import { runForeground, startDetached, startReporter } from '../../core/daemon/index.js';
import { OverlayError } from '../../core/errors.js';
import { nodeControl } from '../../core/node/controlMethods.js';
import { parseStunFlag } from '../../core/node/flags.js';
import { OverlayNode } from '../../core/node/node.js';
import { NodeState, type RunOptions } from '../../core/node/nodeState.js';
import { MAX_STUN_SERVERS } from '../../core/stun/constants.js';
import { type Command, type CommandContext, flagBool } from '../command.js';
import { callNode, stateDirOf } from '../nodeClient.js';
import { ProgressLine } from '../terminal.js';

const mainScript = fileURLToPath(new URL('../main.js', import.meta.url));

function timestamped(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export const up: Command = {
  name: 'up',
  summary: 'bring this node up: the overlay interface, its peers, gossip (needs root)',
  usage: '[--foreground] [--no-relay | --relay] [--stun HOST:PORT ... | --no-stun]',
  flags: {
    foreground: {
      type: 'boolean',
      description: 'stay in this terminal and log here (default: run in the background, log to overlay.log)',
    },
    'no-relay': {
      type: 'boolean',
      description:
        'carry no traffic between other members (they will not pick this node as their relay); remembered',
    },
    relay: { type: 'boolean', description: 'relay for other members again (the default); remembered' },
    stun: {
      type: 'string',
      multiple: true,
      arg: 'HOST:PORT',
      description: "a STUN server to learn this node's public address from; repeatable; remembered",
    },
    'no-stun': { type: 'boolean', description: 'forget the STUN servers given before' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    if (flagBool(ctx, 'foreground')) {
      try {
        await runHere(ctx);
      } catch (e) {
        // Started by `overlay up`: it waits for this node's word (runForeground reports its own
        // failures; this covers those before it, and is ignored after a first report).
        startReporter(ctx.env).failed(e);
        throw e;
      }
      return;
    }
    const { stateDir, options } = prepare(ctx);
    const progress = new ProgressLine(ctx.stderr);
    progress.update('starting overlay...');
    try {
      await startDetached({
        argv: [
          process.execPath,
          // The node's JavaScript does little (handshakes, gossip, discovery; packets stay native):
          // V8's default 16 MB young generation only costs memory. About 14 MB less RSS.
          '--max-semi-space-size=1',
          mainScript,
          'up',
          '--foreground',
          '--state-dir',
          stateDir,
          ...(options.relay === undefined ? [] : [options.relay ? '--relay' : '--no-relay']),
          ...(options.stun === undefined
            ? []
            : options.stun.length === 0
              ? ['--no-stun']
              : options.stun.flatMap((s) => ['--stun', s])),
        ],
        stateDir,
        onProgress: (p) => {
          if (p.stage === 'waiting')
            progress.update(`starting overlay... ${(p.elapsedMs / 1000).toFixed(0)} s`);
        },
      });
    } finally {
      progress.done();
    }
    const status = await callNode(ctx, 'status');
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(`${JSON.stringify(status)}\n`);
      return;
    }
    const s = status.self;
    ctx.stdout.write(
      `overlay is up: ${s.name} is ${s.addresses.join(' and ')} on ${s.interface}, UDP ${s.listenPort}; ` +
        `${status.peers.length} other member${status.peers.length === 1 ? '' : 's'}` +
        `${s.relay === false ? '; relays for no one' : ''}${s.stun?.length ? `; STUN ${s.stun.map((x) => x.server).join(', ')}` : ''}\n`,
    );
  },
};

/** The flags given (undefined: not given, the remembered setting holds); contradictions refused. */
function runOptionsOf(ctx: CommandContext): RunOptions {
  if (flagBool(ctx, 'relay') && flagBool(ctx, 'no-relay')) {
    throw new OverlayError('EUSAGE', '--relay and --no-relay contradict each other', { hint: 'give one' });
  }
  const stun = [...new Set(((ctx.flags['stun'] as string[] | undefined) ?? []).map(parseStunFlag))];
  if (stun.length > MAX_STUN_SERVERS) {
    throw new OverlayError('EUSAGE', `at most ${MAX_STUN_SERVERS} --stun servers, not ${stun.length}`);
  }
  if (stun.length > 0 && flagBool(ctx, 'no-stun')) {
    throw new OverlayError('EUSAGE', '--stun and --no-stun contradict each other', { hint: 'give one' });
  }
  return {
    ...(flagBool(ctx, 'relay') && { relay: true }),
    ...(flagBool(ctx, 'no-relay') && { relay: false }),
    ...(stun.length > 0 && { stun }),
    ...(flagBool(ctx, 'no-stun') && { stun: [] }),
  };
}

/** Refused here, before anything starts: not in a network, or contradictory flags. */
function prepare(ctx: CommandContext): { stateDir: string; options: RunOptions; state: NodeState } {
  const stateDir = stateDirOf(ctx);
  const options = runOptionsOf(ctx);
  const state = NodeState.open(stateDir);
  if (!state) {
    throw new OverlayError('EUSAGE', 'this node is not in a network yet', {
      hint: 'create one with overlay init, or join one with overlay join CODE',
    });
  }
  return { stateDir, options, state };
}

/** `up --foreground`: the node itself, in this process, until down, Ctrl-C or SIGTERM. */
async function runHere(ctx: CommandContext): Promise<void> {
  const { stateDir, options, state } = prepare(ctx);
  const fg = await runForeground({
    stateDir,
    log: timestamped,
    reporter: startReporter(ctx.env),
    start: async () => {
      const node = OverlayNode.start({ stateDir, log: timestamped, ...options });
      // Remembered once the node runs with them, so a refused `up` changes nothing.
      if (options.relay !== undefined || options.stun !== undefined) state.saveRunOptions(options);
      return { ...nodeControl(node), stop: async () => node.stop() };
    },
  });
  await fg.stopped;
}
