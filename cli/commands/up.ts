import { fileURLToPath } from 'node:url';
import { isControlError } from '../../core/control/index.js';
import { isRunning, runForeground, startDetached, startReporter } from '../../core/daemon/index.js';
import { nodeLog } from '../../core/daemon/logFile.js';
import { waitUntil } from '../../core/daemon/wait.js';
import { OverlayError } from '../../core/errors.js';
import { MAX_ANNOUNCED } from '../../core/node/endpointAnnouncer.js';
import { parseEndpointFlag, parsePort, parseRelayRateFlag, parseStunFlag } from '../../core/node/flags.js';
import { DEFAULT_LISTEN_PORT, NodeState, type RunOptions } from '../../core/node/nodeState.js';
import { isPortMappingMode, PORT_MAPPING_MODES } from '../../core/portmap/portMapper.js';
import { MAX_STUN_SERVERS } from '../../core/stun/constants.js';
import { DEFAULT_RELAY_RATE_MBIT } from '../../core/tunnel/types.js';
import { type Command, type CommandContext, flagBool, flagString } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { callNode, notInNetworkError, stateDirOf } from '../nodeClient.js';
import { shellWord } from '../pasteable.js';
import { ProgressLine } from '../terminal.js';

/** How long an `up` that lost the race to start the node waits for the winner's node to answer. */
const START_WAIT_MS = 30_000;

const mainScript = fileURLToPath(new URL('../main.js', import.meta.url));

export const up: Command = {
  name: 'up',
  summary: 'bring this node up: the overlay interface, its peers, gossip (needs root)',
  usage:
    '[--foreground] [--listen PORT] [--no-relay | --relay] [--relay-rate MBIT] [--stun HOST:PORT ... | --no-stun] [--endpoint HOST:PORT ... | --no-endpoint] [--no-dns | --dns] [--port-mapping MODE]',
  flags: {
    foreground: {
      type: 'boolean',
      description: 'stay in this terminal and log here (default: run in the background, log to overlay.log)',
    },
    listen: {
      type: 'string',
      arg: 'PORT',
      description: 'the UDP port to listen on (another program holds the default one?); remembered',
    },
    'no-relay': {
      type: 'boolean',
      description:
        'carry no traffic between other members (they will not pick this node as their relay); remembered',
    },
    relay: { type: 'boolean', description: 'relay for other members again (the default); remembered' },
    'relay-rate': {
      type: 'string',
      arg: 'MBIT',
      description: `Mbit/s each member may send through this node as its relay (default ${DEFAULT_RELAY_RATE_MBIT}); remembered`,
    },
    stun: {
      type: 'string',
      multiple: true,
      arg: 'HOST:PORT',
      description: "a STUN server to learn this node's public address from; repeatable; remembered",
    },
    'no-stun': { type: 'boolean', description: 'forget the STUN servers given before' },
    endpoint: {
      type: 'string',
      multiple: true,
      arg: 'HOST:PORT',
      description:
        'an IP:PORT members can reach this node at besides those it finds (a public IP, a port forward); repeatable; remembered',
    },
    'no-endpoint': { type: 'boolean', description: 'forget the --endpoint addresses given before' },
    'no-dns': {
      type: 'boolean',
      description:
        "leave the host's DNS alone (members' names are still answered at this node's address); remembered",
    },
    dns: {
      type: 'boolean',
      description:
        "send the host's lookups of the network's names to this node again (the default); remembered",
    },
    'port-mapping': {
      type: 'string',
      arg: 'MODE',
      description:
        'ask the gateway to forward the UDP port: auto (PCP, NAT-PMP and UPnP, the default), off, or only pcp, nat-pmp or upnp; remembered',
    },
  },
  positionals: { min: 0, max: 0 },
  changesNode: true,
  validate: (ctx) => void runOptionsOf(ctx),
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
    const { stateDir, options, state } = prepare(ctx);
    if (await isRunning(stateDir)) return alreadyUp(ctx, options);
    const progress = new ProgressLine(ctx.stderr);
    progress.update('starting overlay...');
    try {
      await startDetached({
        argv: [
          process.execPath,
          // The node's JavaScript does little (handshakes, gossip, discovery; packets stay native):
          // V8's default 16 MB young generation only costs memory. About 14 MB less RSS.
          '--max-semi-space-size=1',
          // Nor does it need V8's optimizing compiler: with the baseline compiler only, an idle
          // member holds about 10 MB less (57 against 67 MB in bench:idle, issue 12: RSS <= 64 MB),
          // at the price of JavaScript-heavy bursts (sealing many messages at a join) running at
          // about half speed: tweetnacl's box of 300 bytes took 104 us against 54 us here.
          '--max-opt=1',
          // V8's memory reducer runs full collections while a process looks idle, to give memory
          // back; a member's heap hardly changes, so an idle member spent about a third of its
          // CPU there (0.17-0.22% of a core against 0.28-0.32 in one network, for 2 MB more RSS).
          '--no-memory-reducer',
          mainScript,
          'up',
          '--foreground',
          '--state-dir',
          stateDir,
          // Its own directory holds only this network; named, so that $OVERLAY_NETWORK cannot name another.
          '--network',
          state.settings().network.name,
          ...upFlags(options),
        ],
        stateDir,
        onProgress: (p) => {
          if (p.stage === 'waiting')
            progress.update(`starting overlay... ${(p.elapsedMs / 1000).toFixed(0)} s`);
        },
      });
    } catch (e) {
      // Another `up` won the race to start it: once that node answers, this is an `up` of a node
      // that is up.
      if (!isControlError(e, 'EALREADY')) throw e;
      progress.done();
      if (!(await waitUntil(() => isRunning(stateDir), START_WAIT_MS))) throw e;
      return alreadyUp(ctx, options);
    } finally {
      progress.done();
    }
    await reportUp(ctx, 'overlay is up');
  },
};

/**
 * `up` of a node that is up succeeds, as `tailscale up` does. New settings would not reach the
 * running node, so those are refused rather than silently ignored.
 */
async function alreadyUp(ctx: CommandContext, options: RunOptions): Promise<void> {
  if (Object.keys(options).length > 0) {
    throw new OverlayError('EALREADY', 'overlay is already up; its settings change at the next start', {
      hint: `stop it first with: overlay down, then run overlay up ${upFlagsText(options)}`,
    });
  }
  await reportUp(ctx, 'overlay is already up');
}

/** The flags of `up` that carry `options` to the node (or to the user, in a hint). */
function upFlags(options: RunOptions): string[] {
  return [
    ...(options.listenPort === undefined ? [] : ['--listen', String(options.listenPort)]),
    ...(options.relay === undefined ? [] : [options.relay ? '--relay' : '--no-relay']),
    ...(options.relayRateMbit === undefined ? [] : ['--relay-rate', String(options.relayRateMbit)]),
    ...(options.stun === undefined
      ? []
      : options.stun.length === 0
        ? ['--no-stun']
        : options.stun.flatMap((s) => ['--stun', s])),
    ...(options.announce === undefined
      ? []
      : options.announce.length === 0
        ? ['--no-endpoint']
        : options.announce.flatMap((e) => ['--endpoint', e])),
    ...(options.dns === undefined ? [] : [options.dns ? '--dns' : '--no-dns']),
    ...(options.portMapping === undefined ? [] : ['--port-mapping', options.portMapping]),
  ];
}

function upFlagsText(options: RunOptions): string {
  return upFlags(options).map(shellWord).join(' ');
}

async function reportUp(ctx: CommandContext, what: string): Promise<void> {
  const status = await callNode(ctx, 'status');
  if (flagBool(ctx, 'json')) {
    ctx.stdout.write(jsonLine(status));
    return;
  }
  const s = status.self;
  ctx.stdout.write(
    `${what}: ${s.name} is ${s.addresses.join(' and ')} on ${s.interface}, UDP ${s.listenPort}; ` +
      `${status.peers.length} other member${status.peers.length === 1 ? '' : 's'}` +
      `${s.relay === false ? '; relays for no one' : ''}${s.stun?.length ? `; STUN ${s.stun.map((x) => x.server).join(', ')}` : ''}\n`,
  );
}

/** The flags given (undefined: not given, the remembered setting holds); contradictions refused. */
function runOptionsOf(ctx: CommandContext): RunOptions {
  for (const flag of ['relay', 'dns']) {
    if (flagBool(ctx, flag) && flagBool(ctx, `no-${flag}`)) {
      throw new OverlayError('EUSAGE', `--${flag} and --no-${flag} contradict each other`, {
        hint: 'give one',
      });
    }
  }
  const stun = [...new Set(((ctx.flags['stun'] as string[] | undefined) ?? []).map(parseStunFlag))];
  if (stun.length > MAX_STUN_SERVERS) {
    throw new OverlayError('EUSAGE', `at most ${MAX_STUN_SERVERS} --stun servers, not ${stun.length}`);
  }
  if (stun.length > 0 && flagBool(ctx, 'no-stun')) {
    throw new OverlayError('EUSAGE', '--stun and --no-stun contradict each other', { hint: 'give one' });
  }
  const announce = [
    ...new Set(((ctx.flags['endpoint'] as string[] | undefined) ?? []).map(parseEndpointFlag)),
  ];
  if (announce.length > MAX_ANNOUNCED) {
    throw new OverlayError('EUSAGE', `at most ${MAX_ANNOUNCED} --endpoint addresses, not ${announce.length}`);
  }
  if (announce.length > 0 && flagBool(ctx, 'no-endpoint')) {
    throw new OverlayError('EUSAGE', '--endpoint and --no-endpoint contradict each other', {
      hint: 'give one',
    });
  }
  const listen = flagString(ctx, 'listen');
  const relayRate = flagString(ctx, 'relay-rate');
  if (relayRate !== undefined && flagBool(ctx, 'no-relay')) {
    throw new OverlayError('EUSAGE', '--relay-rate and --no-relay contradict each other', {
      hint: 'a node that relays for no one has no rate; give one of them',
    });
  }
  const portMapping = flagString(ctx, 'port-mapping');
  if (portMapping !== undefined && !isPortMappingMode(portMapping)) {
    throw new OverlayError('EUSAGE', `--port-mapping ${portMapping} is not a mode`, {
      hint: `give one of ${PORT_MAPPING_MODES.join(', ')}`,
    });
  }
  return {
    ...(listen !== undefined && { listenPort: parsePort(listen, DEFAULT_LISTEN_PORT) }),
    ...(flagBool(ctx, 'relay') && { relay: true }),
    ...(flagBool(ctx, 'no-relay') && { relay: false }),
    ...(relayRate !== undefined && { relayRateMbit: parseRelayRateFlag(relayRate) }),
    ...(stun.length > 0 && { stun }),
    ...(flagBool(ctx, 'no-stun') && { stun: [] }),
    ...(announce.length > 0 && { announce }),
    ...(flagBool(ctx, 'no-endpoint') && { announce: [] }),
    ...(flagBool(ctx, 'dns') && { dns: true }),
    ...(flagBool(ctx, 'no-dns') && { dns: false }),
    ...(portMapping !== undefined && { portMapping }),
  };
}

/** Refused here, before anything starts: not in a network, or contradictory flags. */
function prepare(ctx: CommandContext): { stateDir: string; options: RunOptions; state: NodeState } {
  const stateDir = stateDirOf(ctx);
  const options = runOptionsOf(ctx);
  const state = NodeState.open(stateDir);
  if (!state) throw notInNetworkError(stateDir);
  return { stateDir, options, state };
}

/** `up --foreground`: the node itself, in this process, until down, Ctrl-C or SIGTERM. */
async function runHere(ctx: CommandContext): Promise<void> {
  const { stateDir, options, state } = prepare(ctx);
  const timestamped = nodeLog(stateDir);
  // The node itself, loaded here only: the `up` that starts it in the background needs none of it.
  const [{ OverlayNode }, { nodeControl }] = await Promise.all([
    import('../../core/node/node.js'),
    import('../../core/node/controlMethods.js'),
  ]);
  const fg = await runForeground({
    stateDir,
    log: timestamped,
    reporter: startReporter(ctx.env),
    start: async () => {
      const node = OverlayNode.start({ stateDir, log: timestamped, serveNames: true, ...options });
      await node.names?.ready;
      // Remembered once the node runs with them, so a refused `up` changes nothing.
      if (Object.keys(options).length > 0) state.saveRunOptions(options);
      return { ...nodeControl(node), stop: () => node.stopWithFarewell() };
    },
  });
  await fg.stopped;
}
