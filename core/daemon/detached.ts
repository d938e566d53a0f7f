import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { ControlClient } from '../control/client.js';
import { alreadyRunningError, ControlError, isControlError } from '../control/controlError.js';
import { controlSocketPath } from '../control/protocol.js';
import { OverlayError } from '../errors.js';
import { ensureStateDir } from '../store/stateDir.js';
import { openLogForAppend, readLogTail } from './logFile.js';
import { livePidFromFile, readPidFile } from './pidFile.js';
import { isRunning } from './running.js';
import { sleep } from './wait.js';

export type StartProgress =
  | { stage: 'spawned'; pid: number; logPath: string }
  | { stage: 'waiting'; elapsedMs: number }
  | { stage: 'ready'; pid: number };

export interface StartDetachedOptions {
  /** The command that runs the node in the foreground, absolute paths: it runs with cwd "/". */
  argv: string[];
  stateDir: string;
  /** How long the node may take to answer `status`. Default 15 s. */
  readyTimeoutMs?: number;
  onProgress?: (progress: StartProgress) => void;
  env?: NodeJS.ProcessEnv;
}

export interface StartedNode {
  pid: number;
  logPath: string;
  socketPath: string;
}

/** The node exited before it was ready; `logTail` is what it printed, usually the reason. */
export class NodeStartError extends OverlayError {
  constructor(
    message: string,
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly logTail: string[],
    readonly logPath: string,
  ) {
    super('EINTERNAL', message, { hint: `full log: ${logPath}` });
    this.name = 'NodeStartError';
  }
}

/**
 * `overlay up`: starts the node in its own session (it outlives this process and the terminal),
 * output appended to <stateDir>/overlay.log, and returns once its control socket answers `status`.
 * Refuses when a node already runs; throws NodeStartError with the node's last words if it exits
 * first; stops it and throws ETIMEOUT if it is not ready in time.
 */
export async function startDetached(options: StartDetachedOptions): Promise<StartedNode> {
  const { argv, stateDir } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const [command, ...args] = argv;
  if (command === undefined) throw new OverlayError('EINTERNAL', 'startDetached needs a command to run');
  ensureStateDir(stateDir);
  const socketPath = controlSocketPath(stateDir);

  if (await isRunning(stateDir)) throw alreadyRunningError(readPidFile(stateDir));
  // A node still starting has its pid file but no socket yet.
  const starting = livePidFromFile(stateDir);
  if (starting !== undefined) throw alreadyRunningError(starting);

  const log = openLogForAppend(stateDir);
  let child: ReturnType<typeof spawn>;
  try {
    // A marker between runs in the appended log; this run's own lines start after it.
    log.offset += fs.writeSync(log.fd, `--- overlay up at ${new Date().toISOString()}\n`);
    child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd],
      cwd: '/',
      env: options.env ?? process.env,
    });
  } finally {
    // The child has its own copy of the descriptor.
    fs.closeSync(log.fd);
  }
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>(
    (resolve) => {
      child.once('exit', (code, signal) => resolve({ code, signal }));
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
    },
  );
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    const { error } = await exited;
    throw new OverlayError('EINTERNAL', `cannot start ${command}: ${error?.message ?? 'no pid'}`, {
      cause: error,
    });
  }
  options.onProgress?.({ stage: 'spawned', pid, logPath: log.path });

  let exit: Awaited<typeof exited> | undefined;
  void exited.then((e) => {
    exit = e;
  });
  const started = Date.now();
  for (let interval = 25; ; interval = Math.min(interval * 2, 200)) {
    if (exit) throw startFailed(exit, log.path, log.offset);
    if (await answersStatus(socketPath)) break;
    const elapsedMs = Date.now() - started;
    if (elapsedMs >= readyTimeoutMs) {
      await stopChild(pid, exited);
      throw new ControlError(
        'ETIMEOUT',
        `the node did not become ready within ${readyTimeoutMs} ms; stopped it`,
        {
          hint: `see ${log.path}`,
        },
      );
    }
    options.onProgress?.({ stage: 'waiting', elapsedMs });
    await Promise.race([sleep(interval), exited]);
  }
  options.onProgress?.({ stage: 'ready', pid });
  return { pid, logPath: log.path, socketPath };
}

/** True once the node answers `status` with anything: a result, or an error of its own. */
async function answersStatus(socketPath: string): Promise<boolean> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(socketPath, { timeoutMs: 1000 });
  } catch (e) {
    if (isControlError(e, 'ENOTRUNNING') || isControlError(e, 'ETIMEOUT') || isControlError(e, 'EBUSY')) {
      return false;
    }
    throw e;
  }
  try {
    await client.call('status', {}, { timeoutMs: 2000 });
    return true;
  } catch (e) {
    // The connection failing is "not yet"; an answer, even an error, is a node that runs.
    return !(isControlError(e, 'ECLOSED') || isControlError(e, 'ETIMEOUT') || isControlError(e, 'EBUSY'));
  } finally {
    client.close();
  }
}

function startFailed(
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error },
  logPath: string,
  offset: number,
): OverlayError {
  if (exit.error) {
    return new OverlayError('EINTERNAL', `cannot start the node: ${exit.error.message}`, {
      cause: exit.error,
    });
  }
  const tail = readLogTail(logPath, offset);
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  const last = tail.at(-1)?.replace(/^overlay: /, '');
  return new NodeStartError(
    `the node stopped while starting (${how})${last ? `: ${last}` : ''}`,
    exit.code,
    exit.signal,
    tail,
    logPath,
  );
}

/** SIGTERM, then SIGKILL if it lingers: a node that never got ready must not stay behind. */
async function stopChild(pid: number, exited: Promise<unknown>): Promise<void> {
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      // detached: the node leads its own process group; signal everything it started too.
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  };
  signalGroup('SIGTERM');
  const gone = await Promise.race([exited.then(() => true), sleep(3000).then(() => false)]);
  if (!gone) {
    signalGroup('SIGKILL');
    await Promise.race([exited, sleep(2000)]);
  }
}
