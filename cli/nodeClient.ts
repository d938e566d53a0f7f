import fs from 'node:fs';
import { ControlClient, ControlError, controlSocketPath, isControlError } from '../core/control/index.js';
import { readOnlySocketPath } from '../core/control/readOnlySocket.js';
import type { ParamsArg } from '../core/control/typed.js';
import { isOverlayError, OverlayError } from '../core/errors.js';
import type { ControlApi, ControlStreams } from '../core/node/controlApi.js';
import { type Asker, networkStateDir, wantedNetwork } from '../core/node/networks.js';
import { NodeState } from '../core/node/nodeState.js';
import { effectiveUid, resolveStateDir } from '../core/store/stateDir.js';
import { type CommandContext, flagString } from './command.js';
import { shellWord } from './pasteable.js';

/** The host's state directory: --state-dir, else $OVERLAY_HOME, else the default. */
export function baseDirOf(ctx: CommandContext): string {
  return resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
}

/**
 * The state directory of the network a command works on: --network (or $OVERLAY_NETWORK), else
 * the host's only one; with several and none named, "which network?" (core/node/networks.ts).
 */
export function stateDirOf(ctx: CommandContext): string {
  return networkStateDir(baseDirOf(ctx), wantedNetwork(flagString(ctx, 'network'), ctx.env), askerOf(ctx));
}

/** The command as typed, without --network and --state-dir, for a "which network?" hint. */
export function askerOf(ctx: CommandContext): Asker {
  const words: string[] = [];
  const argv = ctx.argv ?? [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--network' || a === '--state-dir') i++;
    else if (!a.startsWith('--network=') && !a.startsWith('--state-dir=')) words.push(shellWord(a));
  }
  return { command: ctx.command ?? 'status', words };
}

/** A connection to the running node, typed by its control API (core/node/controlApi.ts). */
export type NodeClient = ControlClient<ControlApi, ControlStreams>;

/**
 * Connects to the node of `stateDir`. When none answers, a directory that holds no network says
 * so ("not in a network": init or join), rather than "not running" with a hint to start it.
 * A user who may not enter the directory (root's node) gets its read-only socket, which serves
 * status, whoami, watch and ping (core/node/controlApi.ts READ_ONLY_METHODS).
 */
export async function connectNode(stateDir: string, timeoutMs: number): Promise<NodeClient> {
  try {
    return await ControlClient.connect<ControlApi, ControlStreams>(controlSocketPath(stateDir), {
      timeoutMs,
    });
  } catch (e) {
    if (mayNotEnter(stateDir, e)) return connectReadOnly(stateDir, timeoutMs);
    if (isControlError(e, 'ENOTRUNNING') && !inNetwork(stateDir)) throw notInNetworkError(stateDir);
    throw e;
  }
}

/** The private socket was refused, or its directory is missing or closed to this user. */
function mayNotEnter(stateDir: string, e: unknown): boolean {
  if (effectiveUid() === 0) return false;
  if (isOverlayError(e) && e.code === 'EPERM') return true;
  if (!isControlError(e, 'ENOTRUNNING')) return false;
  try {
    fs.accessSync(stateDir, fs.constants.X_OK);
    return false;
  } catch {
    return true;
  }
}

async function connectReadOnly(stateDir: string, timeoutMs: number): Promise<NodeClient> {
  try {
    return await ControlClient.connect<ControlApi, ControlStreams>(readOnlySocketPath(stateDir), {
      timeoutMs,
    });
  } catch (e) {
    if (!isControlError(e, 'ENOTRUNNING')) throw e;
    throw new ControlError('ENOTRUNNING', `overlay is not running (no node of ${stateDir} answers)`, {
      hint: 'start it with: overlay up',
      cause: e,
    });
  }
}

/** Throws "not in a network yet" unless `stateDir` holds one. */
export function assertInNetwork(stateDir: string): void {
  if (!inNetwork(stateDir)) throw notInNetworkError(stateDir);
}

/** Whether `stateDir` holds a network; a corrupt one counts (the node's start will name the file). */
function inNetwork(stateDir: string): boolean {
  try {
    return NodeState.open(stateDir) !== undefined;
  } catch {
    return true;
  }
}

export function notInNetworkError(stateDir: string): OverlayError {
  return new OverlayError('EUSAGE', `this node is not in a network yet (${stateDir})`, {
    hint: 'create one with overlay init, or join one with overlay join CODE',
  });
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
