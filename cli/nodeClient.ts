import { ControlClient, controlSocketPath } from '../core/control/index.js';
import { resolveStateDir } from '../core/store/stateDir.js';
import { type CommandContext, flagString } from './command.js';

/** The state directory a command works on: --state-dir, else $OVERLAY_HOME, else the default. */
export function stateDirOf(ctx: CommandContext): string {
  return resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
}

/**
 * Calls a method of the running node. When none runs, the client's error says so and how to
 * start it (exit code 5).
 */
export async function callNode<T>(
  ctx: CommandContext,
  method: string,
  params: Record<string, unknown> = {},
): Promise<T> {
  const client = await ControlClient.connect(controlSocketPath(stateDirOf(ctx)), { timeoutMs: 5000 });
  try {
    return await client.call<T>(method, params);
  } finally {
    client.close();
  }
}

/**
 * Follows a stream of the running node until it ends, the node stops, or the user interrupts
 * (Ctrl-C ends it as a success: watching was what they asked for).
 */
export async function streamNode(
  ctx: CommandContext,
  method: string,
  onEvent: (event: unknown) => void,
  params: Record<string, unknown> = {},
): Promise<void> {
  const client = await ControlClient.connect(controlSocketPath(stateDirOf(ctx)), { timeoutMs: 5000 });
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
