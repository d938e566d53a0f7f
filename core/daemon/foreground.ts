import fs from 'node:fs';
import path from 'node:path';
import { alreadyRunningError } from '../control/controlError.js';
import { controlSocketPath } from '../control/protocol.js';
import { ensureRunDir, readOnlySocketPath } from '../control/readOnlySocket.js';
import { ControlServer, type Handler, type StreamHandler } from '../control/server.js';
import { bindHandlers } from '../control/typed.js';
import { ensureStateDir, errnoOf } from '../store/stateDir.js';
import { LIFECYCLE_PARAMS, lifecycleHandlers } from './lifecycleApi.js';
import { NodeLock } from './nodeLock.js';
import { readPidFile } from './pidFile.js';
import { isRunning } from './running.js';
import { type StartReporter, startReporter } from './startReport.js';

export type ShutdownReason = 'down' | 'SIGINT' | 'SIGTERM' | 'error';

/** What the node gives runForeground once it has started. */
export interface NodeRuntime {
  /** Control methods the node serves (`status` at least: `overlay up` waits for it to answer). */
  handlers: Record<string, Handler>;
  streams?: Record<string, StreamHandler>;
  /**
   * What the read-only socket serves (core/control/readOnlySocket.ts) to users who may not open
   * the private one; none when absent.
   */
  readOnly?: { handlers: Record<string, Handler>; streams?: Record<string, StreamHandler> };
  /** Stops the node: called once, on `overlay down`, Ctrl-C or SIGTERM. */
  stop(reason: ShutdownReason): Promise<void>;
}

export interface ForegroundOptions {
  stateDir: string;
  /** Starts the node (interface, sockets, timers). Its control socket opens only after this resolves. */
  start(): Promise<NodeRuntime>;
  /** Lifecycle lines ("running", "stopping"); default: stderr, which is the log when detached. */
  log?: (line: string) => void;
  /** A stop that takes longer is abandoned (and logged): shutdown must end. Default 10 s. */
  stopTimeoutMs?: number;
  /** Told once whether the node started, and if not, why; default: the pipe `overlay up` gave us. */
  reporter?: StartReporter;
}

export interface ForegroundNode {
  readonly pid: number;
  readonly socketPath: string;
  /** Settles once the node has stopped and removed its pid file and socket. */
  readonly stopped: Promise<ShutdownReason>;
  /** The same graceful shutdown as `overlay down`; later calls return the first one's promise. */
  shutdown(reason: ShutdownReason): Promise<ShutdownReason>;
}

const SIGNAL_EXIT_CODE = { SIGINT: 130, SIGTERM: 143 } as const;

/** A second signal sooner than this after the first is its echo, not a second request. */
const SIGNAL_ECHO_MS = 300;

/**
 * The node's side of `overlay up --foreground` (and of the detached node, which is the same command
 * in a new session): take the state directory's node lock (refusing to start next to a running
 * node), write the pid file, start the node, serve the control API with its `down` method, and shut
 * down once on down/SIGINT/SIGTERM. A second signal while shutting down exits at once. Pid file and
 * socket are removed on every exit path a process can observe; after kill -9 the kernel releases
 * the lock and the next start replaces them. Whether it started, or the error that stopped it, goes
 * to the reporter (`overlay up` waits for it).
 */
export async function runForeground(options: ForegroundOptions): Promise<ForegroundNode> {
  const { stateDir } = options;
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  const reporter = options.reporter ?? startReporter();
  let lock: NodeLock;
  try {
    ensureStateDir(stateDir);
    lock = NodeLock.claim(stateDir);
  } catch (e) {
    reporter.failed(e);
    throw e;
  }
  const socketPath = controlSocketPath(stateDir);
  try {
    // A node of a version without the lock, or one whose lock file someone removed, still answers.
    if (await isRunning(stateDir)) throw alreadyRunningError(readPidFile(stateDir));
  } catch (e) {
    lock.release();
    reporter.failed(e);
    throw e;
  }

  let server: ControlServer | undefined;
  let readOnlyServer: ControlServer | undefined;
  let runtime: NodeRuntime | undefined;
  let shuttingDown: Promise<ShutdownReason> | undefined;
  let resolveStopped!: (r: ShutdownReason) => void;
  const stopped = new Promise<ShutdownReason>((resolve) => {
    resolveStopped = resolve;
  });

  // Last resort for exits we do not drive (process.exit elsewhere, an uncaught exception).
  const cleanupSync = () => {
    if (!lock.held) return;
    lock.release();
    if (server) removeSocketSync(socketPath);
    if (readOnlyServer) removeSocketSync(readOnlyServer.socketPath);
  };
  process.on('exit', cleanupSync);

  let pendingSignal: ShutdownReason | undefined;
  let firstSignalAt: number | undefined;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    const now = Date.now();
    // A library that cleans up on exit (when-exit, under conf's atomic writes) raises the signal
    // again at once after its own handler: that echo is not a user pressing Ctrl-C twice.
    if (firstSignalAt !== undefined && now - firstSignalAt < SIGNAL_ECHO_MS) return;
    firstSignalAt ??= now;
    if (shuttingDown || pendingSignal) {
      log(`overlay: ${signal} again while stopping; exiting now`);
      cleanupSync();
      process.exit(SIGNAL_EXIT_CODE[signal]);
    }
    if (!runtime || !server) {
      // Still starting: stop as soon as start finishes, rather than leave a half-built node.
      pendingSignal = signal;
      return;
    }
    void shutdown(signal);
  };
  const onSigint = () => onSignal('SIGINT');
  const onSigterm = () => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const uninstall = () => {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    process.off('exit', cleanupSync);
  };

  const shutdown = (reason: ShutdownReason): Promise<ShutdownReason> => {
    shuttingDown ??= (async () => {
      log(`overlay: stopping (${reason})`);
      // Close the control socket first: from now on `overlay status` says "not running".
      await Promise.all([server?.close(), readOnlyServer?.close()]);
      if (runtime) {
        const outcome = await settleWithin(runtime.stop(reason), stopTimeoutMs);
        if (outcome !== 'ok') log(`overlay: stopping the node ${outcome}; exiting anyway`);
      }
      lock.release();
      uninstall();
      log('overlay: stopped');
      resolveStopped(reason);
      return reason;
    })();
    return shuttingDown;
  };

  try {
    runtime = await options.start();
  } catch (e) {
    lock.release();
    uninstall();
    reporter.failed(e);
    throw e;
  }

  const lifecycle = bindHandlers(
    LIFECYCLE_PARAMS,
    lifecycleHandlers(() => void shutdown('down')),
  );
  server = new ControlServer({
    socketPath,
    handlers: { ...runtime.handlers, ...lifecycle },
    ...(runtime.streams ? { streams: runtime.streams } : {}),
    onError: (e) => log(`overlay: control API: ${e instanceof Error ? e.message : String(e)}`),
  });
  try {
    await server.listen();
  } catch (e) {
    await settleWithin(runtime.stop('error'), stopTimeoutMs);
    lock.release();
    uninstall();
    reporter.failed(e);
    throw e;
  }

  if (runtime.readOnly) readOnlyServer = await serveReadOnly(stateDir, runtime.readOnly, log);

  log(`overlay: running (pid ${process.pid}), control socket ${socketPath}`);
  reporter.ready();
  if (pendingSignal) void shutdown(pendingSignal);
  return { pid: process.pid, socketPath, stopped, shutdown };
}

/**
 * Read-only control clients any local user may open: fewer than the private socket's 64, and a
 * table of their own, so users filling it never keep root's `overlay down` out; at most 2 streams
 * each (a watch and a ping). Best effort: a node that cannot make /run/overlay (one not run by
 * root) runs without it, and says so in its log.
 */
const READ_ONLY_LIMITS = { maxClients: 16, maxStreamsPerClient: 2, maxInflightPerClient: 4 };

async function serveReadOnly(
  stateDir: string,
  tables: NonNullable<NodeRuntime['readOnly']>,
  log: (line: string) => void,
): Promise<ControlServer | undefined> {
  const socketPath = readOnlySocketPath(stateDir);
  const server = new ControlServer({
    socketPath,
    socketMode: 0o666,
    handlers: tables.handlers,
    ...(tables.streams ? { streams: tables.streams } : {}),
    ...READ_ONLY_LIMITS,
    onError: (e) => log(`overlay: read-only control API: ${e instanceof Error ? e.message : String(e)}`),
  });
  try {
    ensureRunDir(path.dirname(socketPath));
    await server.listen();
  } catch (e) {
    log(
      `overlay: no read-only control socket for other users: ${e instanceof Error ? e.message : String(e)}`,
    );
    return undefined;
  }
  log(`overlay: read-only control socket ${socketPath}`);
  return server;
}

async function settleWithin(p: Promise<void>, ms: number): Promise<'ok' | string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`took over ${ms} ms`), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => 'ok' as const,
        (e: unknown) => `failed: ${e instanceof Error ? e.message : String(e)}`,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function removeSocketSync(file: string): void {
  try {
    if (fs.lstatSync(file).isSocket()) fs.unlinkSync(file);
  } catch (e) {
    if (errnoOf(e) !== 'ENOENT') throw e;
  }
}
