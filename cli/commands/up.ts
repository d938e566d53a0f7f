import { fileURLToPath } from 'node:url';
import { NodeStartError, runForeground, startDetached } from '../../core/daemon/index.js';
import { OverlayError } from '../../core/errors.js';
import { nodeAdminHandlers, pingStream } from '../../core/node/controlMethods.js';
import { parseStunFlag } from '../../core/node/flags.js';
import { OverlayNode } from '../../core/node/node.js';
import { NodeState } from '../../core/node/nodeState.js';
import { type NodeStatus, nodeStatus } from '../../core/node/status.js';
import { watchStream } from '../../core/node/watch.js';
import { type Command, flagBool } from '../command.js';
import { callNode, stateDirOf } from '../nodeClient.js';
import { ProgressLine } from '../terminal.js';

const mainScript = fileURLToPath(new URL('../main.js', import.meta.url));

function timestamped(line: string): void {
  process.stderr.write(`${new Date().toISOString()} ${line}\n`);
}

export const up: Command = {
  name: 'up',
  summary: 'bring this node up: the overlay interface, its peers, gossip (needs root)',
  usage: '[--foreground] [--no-relay] [--stun HOST:PORT ...]',
  flags: {
    foreground: {
      type: 'boolean',
      description: 'stay in this terminal and log here (default: run in the background, log to overlay.log)',
    },
    'no-relay': {
      type: 'boolean',
      description: 'carry no traffic between other members (they will not pick this node as their relay)',
    },
    stun: {
      type: 'string',
      multiple: true,
      arg: 'HOST:PORT',
      description: "a STUN server to learn this node's public address from; repeatable",
    },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const stateDir = stateDirOf(ctx);
    const relay = !flagBool(ctx, 'no-relay');
    const stun = ((ctx.flags['stun'] as string[] | undefined) ?? []).map(parseStunFlag);
    // Refused here, before anything starts, so the message needs no trip through a log file.
    if (!NodeState.open(stateDir)) {
      throw new OverlayError('EUSAGE', 'this node is not in a network yet', {
        hint: 'create one with overlay init, or join one with overlay join CODE',
      });
    }
    if (flagBool(ctx, 'foreground')) {
      const fg = await runForeground({
        stateDir,
        log: timestamped,
        start: async () => {
          const node = OverlayNode.start({ stateDir, log: timestamped, relay, stun });
          return {
            handlers: { status: async () => nodeStatus(node), ...nodeAdminHandlers(node) },
            streams: { watch: watchStream(node), ping: pingStream(node) },
            stop: async () => node.stop(),
          };
        },
      });
      await fg.stopped;
      return;
    }
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
          ...(relay ? [] : ['--no-relay']),
          ...stun.flatMap((s) => ['--stun', s]),
        ],
        stateDir,
        onProgress: (p) => {
          if (p.stage === 'waiting')
            progress.update(`starting overlay... ${(p.elapsedMs / 1000).toFixed(0)} s`);
        },
      });
    } catch (e) {
      progress.done();
      if (e instanceof NodeStartError) throw startFailure(e);
      throw e;
    }
    progress.done();
    const status = await callNode<NodeStatus>(ctx, 'status');
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(`${JSON.stringify(status)}\n`);
      return;
    }
    const s = status.self;
    ctx.stdout.write(
      `overlay is up: ${s.name} is ${s.addresses.join(' and ')} on ${s.interface}, UDP ${s.listenPort}; ` +
        `${status.peers.length} other member${status.peers.length === 1 ? '' : 's'}\n`,
    );
  },
};

/** The node's own last word from its log, with the exit code it meant (3: needs root). */
function startFailure(e: NodeStartError): OverlayError {
  const said = [...e.logTail].reverse().find((l) => l.includes('overlay: '));
  const message = said ? said.slice(said.indexOf('overlay: ') + 'overlay: '.length) : e.message;
  const match = /^(.*?)(?: \(([^()]*)\))?$/.exec(message);
  const code =
    e.exitCode === 3 ? 'EPERM' : e.exitCode === 4 ? 'ESTATE_DIR' : e.exitCode === 2 ? 'EUSAGE' : 'EINTERNAL';
  return new OverlayError(code, match?.[1] ?? message, { hint: match?.[2] ?? `see ${e.logPath}`, cause: e });
}
