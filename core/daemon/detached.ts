import { spawn } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { alreadyRunningError, ControlError } from '../control/controlError.js';
import { controlSocketPath, errorFromWire } from '../control/protocol.js';
import { OverlayError } from '../errors.js';
import { ensureStateDir } from '../store/stateDir.js';
import { openLogForAppend } from './logFile.js';
import { nodeLockState } from './nodeLock.js';
import { readPidFile } from './pidFile.js';
import { isRunning } from './running.js';
import { readStartReport, START_REPORT_FD, START_REPORT_FD_ENV, type StartReport } from './startReport.js';
import { sleep, within } from './wait.js';

export type StartProgress =
  | { stage: 'spawned'; pid: number; logPath: string }
  | { stage: 'waiting'; elapsedMs: number }
  | { stage: 'ready'; pid: number };

export interface StartDetachedOptions {
  /** The command that runs the node in the foreground, absolute paths: it runs with cwd "/". */
  argv: string[];
  stateDir: string;
  /** How long the node may take to report that it runs. Default 15 s. */
  readyTimeoutMs?: number;
  onProgress?: (progress: StartProgress) => void;
  env?: NodeJS.ProcessEnv;
}

export interface StartedNode {
  pid: number;
  logPath: string;
  socketPath: string;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null; error?: Error };

/**
 * `overlay up`: starts the node in its own session (it outlives this process and the terminal),
 * output appended to <stateDir>/overlay.log, and returns once the node reports that its control
 * socket answers (startReport.ts). Refuses when a node already runs. A node that fails to start
 * reports its error, code and all, and that error is thrown here as it was raised there; a node
 * that dies without a word is an EINTERNAL naming its exit status; one not ready in time is
 * stopped and ETIMEOUT.
 */
export async function startDetached(options: StartDetachedOptions): Promise<StartedNode> {
  const { argv, stateDir } = options;
  const readyTimeoutMs = options.readyTimeoutMs ?? 15_000;
  const [command, ...args] = argv;
  if (command === undefined) throw new OverlayError('EINTERNAL', 'startDetached needs a command to run');
  ensureStateDir(stateDir);
  const socketPath = controlSocketPath(stateDir);

  if (await isRunning(stateDir)) throw alreadyRunningError(readPidFile(stateDir));
  // A node still starting holds the lock but has no socket yet.
  const lock = nodeLockState(stateDir);
  if (lock.held) throw alreadyRunningError(lock.pid ?? readPidFile(stateDir));

  const log = openLogForAppend(stateDir);
  let child: ReturnType<typeof spawn>;
  try {
    // A marker between runs in the appended log.
    fs.writeSync(log.fd, `--- overlay up at ${new Date().toISOString()}\n`);
    child = spawn(command, args, {
      detached: true,
      stdio: ['ignore', log.fd, log.fd, 'pipe'],
      cwd: '/',
      env: { ...(options.env ?? process.env), [START_REPORT_FD_ENV]: String(START_REPORT_FD) },
    });
  } finally {
    // The child has its own copy of the descriptor.
    fs.closeSync(log.fd);
  }
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
    child.once('error', (error) => resolve({ code: null, signal: null, error }));
  });
  const reportPipe = child.stdio[START_REPORT_FD] as Readable | null;
  const reported = reportPipe ? readStartReport(reportPipe) : Promise.resolve(undefined);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) {
    const { error } = await exited;
    throw new OverlayError('EINTERNAL', `cannot start ${command}: ${error?.message ?? 'no pid'}`, {
      cause: error,
    });
  }
  options.onProgress?.({ stage: 'spawned', pid, logPath: log.path });

  const deadline = Date.now() + readyTimeoutMs;
  // A child that exits has written its report, if any, before: give the pipe a moment to deliver it.
  const afterExit = exited.then(async () => (await within(reported, 500, undefined)) ?? ('exited' as const));
  // The pipe closing without a report (the child closed it, or handed it on): only the exit can tell.
  const silent = reported.then((r) => r ?? afterExit);
  let outcome: StartReport | 'exited' | 'timeout' | undefined;
  while (outcome === undefined) {
    const left = deadline - Date.now();
    if (left <= 0) {
      outcome = 'timeout';
      break;
    }
    outcome = await within(silent, Math.min(left, 1000), undefined);
    if (outcome === undefined) options.onProgress?.({ stage: 'waiting', elapsedMs: readyTimeoutMs - left });
  }

  if (outcome === 'timeout') {
    reportPipe?.destroy();
    await stopChild(pid, exited);
    throw new ControlError(
      'ETIMEOUT',
      `the node did not become ready within ${readyTimeoutMs} ms; stopped it`,
      {
        hint: `see ${log.path}`,
      },
    );
  }
  if (outcome === 'exited') throw diedWhileStarting(await exited, log.path);
  if ('error' in outcome) {
    // It exits on its own after reporting; waiting (briefly) lets its lock and files go first.
    await within(exited, 3000, undefined);
    const e = errorFromWire(outcome.error);
    if (e.hint !== undefined) throw e;
    throw new OverlayError(e.code, e.message, { hint: `see ${log.path}`, cause: e });
  }
  options.onProgress?.({ stage: 'ready', pid });
  return { pid, logPath: log.path, socketPath };
}

/** A node that died before it could report: its exit status is all there is to say. */
function diedWhileStarting(exit: Exit, logPath: string): OverlayError {
  if (exit.error) {
    return new OverlayError('EINTERNAL', `cannot start the node: ${exit.error.message}`, {
      cause: exit.error,
    });
  }
  const how = exit.signal ? `killed by ${exit.signal}` : `exit code ${exit.code}`;
  return new OverlayError('EINTERNAL', `the node stopped while starting (${how})`, {
    hint: `see ${logPath}`,
  });
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
