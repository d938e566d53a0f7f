import fs from 'node:fs';
import { ControlClient } from '../control/client.js';
import { ControlError, isControlError, notRunningError } from '../control/controlError.js';
import { controlSocketPath } from '../control/protocol.js';
import { errnoOf } from '../store/stateDir.js';
import type { LifecycleMethods } from './lifecycleApi.js';
import { nodeLockState } from './nodeLock.js';
import { isProcessAlive, pidFilePath, readPidFile, removeIfExists } from './pidFile.js';
import { isRunning } from './running.js';
import { waitUntil } from './wait.js';

export interface StopOptions {
  /** How long a graceful `down` may take before SIGTERM. Default 10 s. */
  timeoutMs?: number;
  /** How long after SIGTERM before SIGKILL. Default 3 s. */
  killGraceMs?: number;
}

export interface StopResult {
  pid: number | undefined;
  /** 'down' when the node stopped by itself; otherwise the signal it took. */
  how: 'down' | 'SIGTERM' | 'SIGKILL';
}

/**
 * `overlay down`: asks the node to stop over the control socket and waits until it has (socket
 * silent, process gone). A node whose control socket is full (every client busy) gets SIGTERM,
 * which stops it just as gracefully. A node that does not answer, or does not finish in time, gets
 * SIGTERM and then SIGKILL; its leftover pid file and socket are removed. ENOTRUNNING when there
 * is no node.
 */
export async function stopNode(stateDir: string, options: StopOptions = {}): Promise<StopResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const killGraceMs = options.killGraceMs ?? 3000;
  const socketPath = controlSocketPath(stateDir);

  let pid = runningPid(stateDir);
  const asked = await askToStop(socketPath, Math.min(timeoutMs, 5000));
  if (asked === 'not running') {
    if (pid === undefined) {
      removeLeftovers(stateDir);
      throw notRunningError(socketPath);
    }
    // A process that holds the pid file but has no control socket: starting, or stuck.
  } else if (typeof asked === 'object') {
    pid ??= asked.pid;
  }

  const gone = async () => !(pid !== undefined && isProcessAlive(pid)) && !(await isRunning(stateDir));
  if (typeof asked === 'object' && (await waitUntil(gone, timeoutMs))) {
    return { pid, how: 'down' };
  }
  if (pid === undefined) {
    throw new ControlError(
      'ETIMEOUT',
      `the node did not stop within ${timeoutMs} ms and its pid is unknown`,
      {
        hint: `find it with: fuser ${socketPath}`,
      },
    );
  }
  // A busy node was never asked: SIGTERM is its `down`, and gets the time `down` would have.
  for (const [signal, waitMs] of [
    ['SIGTERM', asked === 'busy' ? timeoutMs : killGraceMs],
    ['SIGKILL', 2000],
  ] as const) {
    try {
      process.kill(pid, signal);
    } catch (e) {
      if (errnoOf(e) !== 'ESRCH') throw e;
    }
    if (await waitUntil(() => !isProcessAlive(pid), waitMs)) {
      removeLeftovers(stateDir);
      return { pid, how: signal };
    }
  }
  throw new ControlError('ETIMEOUT', `the node (pid ${pid}) survived SIGKILL`, {
    hint: 'it may be stuck in the kernel; check with: ps -o stat,wchan -p ' + pid,
  });
}

type Asked = { pid: number | undefined } | 'not running' | 'no answer' | 'busy';

async function askToStop(socketPath: string, timeoutMs: number): Promise<Asked> {
  let client: ControlClient<LifecycleMethods>;
  try {
    client = await ControlClient.connect<LifecycleMethods>(socketPath, { timeoutMs });
  } catch (e) {
    if (isControlError(e, 'ENOTRUNNING')) return 'not running';
    if (isControlError(e, 'ETIMEOUT')) return 'no answer';
    if (isControlError(e, 'EBUSY')) return 'busy';
    throw e;
  }
  try {
    const result = await client.call('down', {}, { timeoutMs });
    // Typed, but sent by whichever version of the node runs: checked all the same.
    const pid = (result as { pid?: unknown } | null)?.pid;
    return { pid: typeof pid === 'number' ? pid : undefined };
  } catch (e) {
    // The node may close the connection as it goes down, before the answer arrives.
    if (isControlError(e, 'ECLOSED')) return { pid: undefined };
    if (isControlError(e, 'ETIMEOUT')) return 'no answer';
    // Every client slot taken by clients that are all busy: the socket cannot take the request.
    if (isControlError(e, 'EBUSY')) return 'busy';
    throw e;
  } finally {
    client.close();
  }
}

/** The pid of the node holding the state directory's lock; undefined when no node holds it. */
function runningPid(stateDir: string): number | undefined {
  const lock = nodeLockState(stateDir);
  return lock.held ? (lock.pid ?? readPidFile(stateDir)) : undefined;
}

/** What a node killed without a chance to clean up leaves: its pid file and its socket file. */
function removeLeftovers(stateDir: string): void {
  // A new node may have started meanwhile: its files are not leftovers.
  if (nodeLockState(stateDir).held) return;
  removeIfExists(pidFilePath(stateDir));
  const socketPath = controlSocketPath(stateDir);
  try {
    // Only a socket nobody listens on: a connect would have been refused.
    if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}
