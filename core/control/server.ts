import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { OverlayError } from '../errors.js';
import { errnoOf } from '../store/stateDir.js';
import { Connection, type Handler, type StreamHandler } from './connection.js';
import { alreadyRunningError, ControlError } from './controlError.js';
import { encodeLine, errorToWire, MAX_REQUEST_BYTES, MAX_SOCKET_PATH_BYTES } from './protocol.js';
import { checkSocketDir, removeStaleSocket, trySetUmask } from './socketFile.js';

export type { Handler, RequestContext, StreamHandler } from './connection.js';

export interface ControlServerOptions {
  socketPath: string;
  /**
   * The socket file's mode once bound. Default 0600: only the owner talks to the node. The node's
   * read-only socket (readOnlySocket.ts) is 0666: reading the status is what every user may do.
   */
  socketMode?: number;
  handlers: Record<string, Handler>;
  streams?: Record<string, StreamHandler>;
  /**
   * More clients than this at once: the one idle longest is closed to make room, and when none is
   * idle (all have requests in flight or streams running) the newcomer is told EBUSY and closed.
   */
  maxClients?: number;
  /**
   * A client with nothing in flight and no stream that sends no complete request for this long is
   * closed: holding connections open must not fill the table. Default 5 s.
   */
  idleTimeoutMs?: number;
  maxRequestBytes?: number;
  /** Requests of one client handled at once; further lines wait (and the socket is paused). */
  maxInflightPerClient?: number;
  maxStreamsPerClient?: number;
  /** A client that reads slower than we write is dropped once this much waits in its buffer. */
  maxUnreadBytesPerClient?: number;
  /** How long close() lets clients read their last answers before cutting them off. */
  closeGraceMs?: number;
  /** Errors that are not the client's fault (a handler bug, a socket error), for the node's log. */
  onError?: (e: unknown) => void;
}

type ServerLimits = Required<Omit<ControlServerOptions, 'streams' | 'onError'>> &
  Pick<ControlServerOptions, 'onError'>;

/**
 * The running node's local control API, on a Unix socket only its owner can open (or, for the
 * read-only one, a socket anyone can open that serves a table without a single write method). One bad client
 * (garbage, a huge line, too many requests, never reading) costs that client its connection, never
 * the node.
 */
export class ControlServer {
  readonly socketPath: string;
  private readonly options: ServerLimits;
  private readonly streams: Record<string, StreamHandler>;
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private listening = false;
  private closing: Promise<void> | undefined;
  /** The inode we bound: libuv unlinks the path on close, and if it did not, we remove only ours. */
  private boundIno: number | undefined;

  constructor(options: ControlServerOptions) {
    this.socketPath = path.resolve(options.socketPath);
    this.options = {
      socketPath: this.socketPath,
      socketMode: options.socketMode ?? 0o600,
      handlers: options.handlers,
      maxClients: options.maxClients ?? 64,
      idleTimeoutMs: options.idleTimeoutMs ?? 5000,
      maxRequestBytes: options.maxRequestBytes ?? MAX_REQUEST_BYTES,
      maxInflightPerClient: options.maxInflightPerClient ?? 16,
      maxStreamsPerClient: options.maxStreamsPerClient ?? 8,
      maxUnreadBytesPerClient: options.maxUnreadBytesPerClient ?? 4 * 1024 * 1024,
      closeGraceMs: options.closeGraceMs ?? 1000,
      onError: options.onError,
    };
    this.streams = options.streams ?? {};
    // Half-open: a client may send its requests and shut its side (as `socat` does) and still
    // read the answers.
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => this.accept(socket));
  }

  get clientCount(): number {
    return this.connections.size;
  }

  /**
   * Binds the socket, 0600 from the first moment. A socket file left by a killed node is replaced;
   * one a live node answers on makes this fail with EALREADY.
   */
  async listen(): Promise<void> {
    if (this.listening || this.closing) throw new Error('ControlServer.listen called twice');
    const file = this.socketPath;
    if (Buffer.byteLength(file) > MAX_SOCKET_PATH_BYTES) {
      throw new OverlayError('ESTATE_DIR', `control socket path ${file} is too long for a Unix socket`, {
        hint: `use a --state-dir path shorter than ${MAX_SOCKET_PATH_BYTES - 14} bytes`,
      });
    }
    checkSocketDir(path.dirname(file));
    await removeStaleSocket(file);
    await this.bind(file);
    this.listening = true;
  }

  private async bind(file: string): Promise<void> {
    const listened = new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        this.server.off('listening', onListening);
        reject(
          errnoOf(e) === 'EADDRINUSE'
            ? alreadyRunningError(undefined, e)
            : new OverlayError('EINTERNAL', `cannot listen on ${file}: ${e.message}`, { cause: e }),
        );
      };
      const onListening = () => {
        this.server.off('error', onError);
        resolve();
      };
      this.server.once('error', onError);
      this.server.once('listening', onListening);
    });
    // bind(2) creates the file with 0777 & ~umask, and Node binds synchronously inside listen():
    // with umask 0177 the socket is never more open than 0600, not even for an instant.
    const previous = trySetUmask(0o177);
    try {
      this.server.listen(file);
    } finally {
      if (previous !== undefined) process.umask(previous);
    }
    await listened;
    this.server.on('error', (e) => this.options.onError?.(e));
    // Exact mode whatever the umask did (e.g. in a worker thread, where it cannot be set).
    fs.chmodSync(file, this.options.socketMode);
    this.boundIno = fs.lstatSync(file).ino;
  }

  /** Stops accepting, ends every stream, lets clients read what was sent, removes the socket. */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  private async shutdown(): Promise<void> {
    const closed = this.listening
      ? new Promise<void>((resolve) => this.server.close(() => resolve()))
      : Promise.resolve();
    this.removeSocketFile();
    for (const c of this.connections) c.end();
    const grace = setTimeout(() => {
      for (const c of this.connections) c.destroy();
    }, this.options.closeGraceMs);
    try {
      await closed;
    } finally {
      clearTimeout(grace);
    }
  }

  private removeSocketFile(): void {
    if (this.boundIno === undefined) return;
    try {
      if (fs.lstatSync(this.socketPath).ino === this.boundIno) fs.unlinkSync(this.socketPath);
    } catch (e) {
      if (errnoOf(e) !== 'ENOENT') this.options.onError?.(e);
    }
  }

  private accept(socket: net.Socket): void {
    socket.on('error', () => {
      // A client that vanishes mid-write (EPIPE, ECONNRESET) is not the node's problem.
    });
    if (this.closing) {
      socket.destroy();
      return;
    }
    if (this.connections.size >= this.options.maxClients) this.evictLongestIdle();
    if (this.connections.size >= this.options.maxClients) {
      socket.end(
        encodeLine({
          id: null,
          error: errorToWire(
            new ControlError('EBUSY', `the node already serves ${this.options.maxClients} control clients`, {
              hint: 'close another overlay status or script and try again',
            }),
          ),
        }),
      );
      // Half-open allows a client to never close its side; it must not keep the descriptor.
      setTimeout(() => socket.destroy(), this.options.closeGraceMs).unref();
      return;
    }
    const c = new Connection(socket, this.options, this.streams);
    this.connections.add(c);
    socket.on('close', () => {
      this.connections.delete(c);
      c.closed();
    });
  }

  /**
   * Frees a slot by closing the client idle longest, if any is idle: whoever holds the table with
   * connections that do nothing cannot keep `overlay down` (or anyone) out.
   */
  private evictLongestIdle(): void {
    let oldest: Connection | undefined;
    for (const c of this.connections) {
      if (c.idle && (oldest === undefined || c.idleSince < oldest.idleSince)) oldest = c;
    }
    if (!oldest) return;
    this.connections.delete(oldest);
    oldest.closeWith(
      new ControlError('ECLOSED', 'closed: the node needed this idle connection for another client', {
        hint: 'connect again when you have a request to send',
      }),
    );
  }
}
