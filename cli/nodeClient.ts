import { ControlClient, controlSocketPath } from '../core/control/index.js';
import type { ParamsArg } from '../core/control/typed.js';
import type { ControlApi, ControlStreams } from '../core/node/controlApi.js';
import { resolveStateDir } from '../core/store/stateDir.js';
import { type CommandContext, flagString } from './command.js';

/** The state directory a command works on: --state-dir, else $OVERLAY_HOME, else the default. */
export function stateDirOf(ctx: CommandContext): string {
  return resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
}

/** A connection to the running node, typed by its control API (core/node/controlApi.ts). */
export type NodeClient = ControlClient<ControlApi, ControlStreams>;

export function connectNode(stateDir: string, timeoutMs: number): Promise<NodeClient> {
  return ControlClient.connect<ControlApi, ControlStreams>(controlSocketPath(stateDir), { timeoutMs });
}

/**
 * Calls a method of the running node; the result's type follows from the method. When none runs,
 * the client's error says so and how to start it (exit code 5).
 */
export async function callNode<K extends keyof ControlApi>(
  ctx: CommandContext,
  method: K,
  ...params: ParamsArg<ControlApi[K]['params']>
): Promise<ControlApi[K]['result']> {
  const client = await connectNode(stateDirOf(ctx), 5000);
  try {
    return await client.call(method, ...params);
  } finally {
    client.close();
  }
}

/**
 * Follows a stream of the running node until it ends, the node stops, or the user interrupts
 * (Ctrl-C ends it as a success: watching was what they asked for).
 */
export async function streamNode<K extends keyof ControlStreams>(
  ctx: CommandContext,
  method: K,
  params: ControlStreams[K]['params'],
  onEvent: (event: ControlStreams[K]['event']) => void,
): Promise<void> {
  const client = await connectNode(stateDirOf(ctx), 5000);
  const stop = () => client.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await client.stream(method, params, onEvent);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    client.close();
  }
}
