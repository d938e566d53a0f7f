import net from 'node:net';
import { OverlayError } from '../errors.js';
import { errnoOf } from '../store/stateDir.js';
import { ControlError, notRunningError } from './controlError.js';
import {
  encodeLine,
  errorFromWire,
  LineSplitter,
  MAX_RESPONSE_BYTES,
  parseWireError,
  type RequestId,
} from './protocol.js';
import type { AnyMethods, AnyStreams, MethodMap, ParamsArg, StreamMap } from './typed.js';

export interface CallOptions {
  /** Overrides the connection's timeout for this call. */
  timeoutMs?: number;
}

export interface ConnectOptions {
  /** Bounds the connect and, unless a call says otherwise, each call. Default 5000 ms. */
  timeoutMs?: number;
}

type Pending =
  | {
      kind: 'call';
      method: string;
      resolve: (v: unknown) => void;
      reject: (e: Error) => void;
      timer: NodeJS.Timeout;
    }
  | { kind: 'stream'; onEvent: (event: unknown) => void; resolve: () => void; reject: (e: Error) => void };

/**
 * The CLI's side of the control API: one connection, many calls in flight, answers matched by id.
 * Every failure is an OverlayError whose message says what to do; a node that is not running is
 * ENOTRUNNING with the hint to start it. Typed by the API's maps (core/control/typed.ts): a method
 * the map lacks, or params it does not take, do not compile; the result's type comes from the map.
 */
export class ControlClient<M extends MethodMap<M> = AnyMethods, S extends StreamMap<S> = AnyStreams> {
  private readonly pending = new Map<RequestId, Pending>();
  private readonly splitter = new LineSplitter(MAX_RESPONSE_BYTES);
  private nextId = 1;
  private isClosed = false;

  private constructor(
    private readonly socket: net.Socket,
    private readonly socketPath: string,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => {
      // 'close' follows every error; pending requests are failed there, once.
    });
    socket.on('close', () => {
      if (this.isClosed) return; // we closed it, and settled everything then
      this.isClosed = true;
      this.failAll(
        new ControlError('ECLOSED', 'the node closed the control connection', {
          hint: 'is it still running? overlay status',
        }),
        false,
      );
    });
  }

  static connect<M extends MethodMap<M> = AnyMethods, S extends StreamMap<S> = AnyStreams>(
    socketPath: string,
    options: ConnectOptions = {},
  ): Promise<ControlClient<M, S>> {
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(
          new ControlError(
            'ETIMEOUT',
            `the node did not accept a control connection within ${timeoutMs} ms`,
            {
              hint: 'it may be stuck; overlay down stops it',
            },
          ),
        );
      }, timeoutMs);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeAllListeners('error');
        resolve(new ControlClient<M, S>(socket, socketPath, timeoutMs));
      });
      socket.once('error', (e) => {
        clearTimeout(timer);
        reject(connectError(socketPath, e));
      });
    });
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** One request, one answer. Rejects with the node's own error (code, message, hint) if it failed. */
  call<K extends keyof M & string>(
    method: K,
    ...args: [...ParamsArg<M[K]['params']>, options?: CallOptions]
  ): Promise<M[K]['result']>;
  // The typed signature above is the one callers see; this one only sends and matches the answer.
  call(method: string, ...args: unknown[]): Promise<unknown> {
    const [params = {}, options = {}] = args as [object?, CallOptions?];
    return new Promise((resolve, reject) => {
      if (this.isClosed) {
        reject(closedError());
        return;
      }
      const id = this.nextId++;
      const timeoutMs = options.timeoutMs ?? this.timeoutMs;
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(
          new ControlError('ETIMEOUT', `the node did not answer "${method}" within ${timeoutMs} ms`, {
            hint: 'it may be stuck; overlay down stops it',
          }),
        );
      }, timeoutMs);
      this.pending.set(id, { kind: 'call', method, resolve: resolve as (v: unknown) => void, reject, timer });
      this.socket.write(encodeLine({ id, method, params }));
    });
  }

  /**
   * Calls `onEvent` for every event of a streaming method. Resolves when the node ends the stream or
   * this client is closed (the way to stop watching); rejects on an error or a lost connection.
   */
  stream<K extends keyof S & string>(
    method: K,
    params: S[K]['params'],
    onEvent: (event: S[K]['event']) => void,
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.isClosed) {
        reject(closedError());
        return;
      }
      const id = this.nextId++;
      // Typed by the API's map; what arrives is whatever the node sent (a node of another version).
      this.pending.set(id, { kind: 'stream', onEvent: onEvent as (event: unknown) => void, resolve, reject });
      this.socket.write(encodeLine({ id, method, params }));
    });
  }

  /** Closes the connection: streams resolve, calls still waiting reject with ECLOSED. */
  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    this.failAll(closedError(), true);
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    const lines = this.splitter.push(chunk);
    if (lines === 'overflow') {
      this.abort(new OverlayError('EINTERNAL', `the node sent an answer over ${MAX_RESPONSE_BYTES} bytes`));
      return;
    }
    for (const line of lines) {
      if (line.trim() !== '') this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      const v: unknown = JSON.parse(line);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      msg = v as Record<string, unknown>;
    } catch {
      this.abort(new OverlayError('EINTERNAL', 'the node sent an answer that is not a JSON object'));
      return;
    }
    const id = msg['id'];
    const wireError = 'error' in msg ? parseWireError(msg['error']) : undefined;
    if (id === null || id === undefined) {
      // An error without an id concerns the whole connection (too many clients, a garbled line).
      this.abort(wireError ? errorFromWire(wireError) : protocolError());
      return;
    }
    if (typeof id !== 'number' && typeof id !== 'string') return;
    const p = this.pending.get(id);
    if (!p) return; // an answer that came after its call timed out
    if ('event' in msg) {
      if (p.kind === 'stream') p.onEvent(msg['event']);
      return;
    }
    this.pending.delete(id);
    if (p.kind === 'call') clearTimeout(p.timer);
    if ('error' in msg) p.reject(wireError ? errorFromWire(wireError) : protocolError());
    else if ('result' in msg) p.kind === 'call' ? p.resolve(msg['result']) : p.resolve();
    else p.reject(protocolError());
  }

  private abort(e: Error): void {
    this.isClosed = true;
    this.failAll(e, false);
    this.socket.destroy();
  }

  /** Settles everything pending: calls reject; streams resolve when we closed, else reject. */
  private failAll(e: Error, streamsEnd: boolean): void {
    for (const p of this.pending.values()) {
      if (p.kind === 'call') {
        clearTimeout(p.timer);
        p.reject(e);
      } else if (streamsEnd) {
        p.resolve();
      } else {
        p.reject(e);
      }
    }
    this.pending.clear();
  }

  toString(): string {
    return `ControlClient(${this.socketPath})`;
  }
}

function closedError(): ControlError {
  return new ControlError('ECLOSED', 'the control connection was closed before the answer came');
}

function protocolError(): OverlayError {
  return new OverlayError('EINTERNAL', 'the node sent an answer this overlay does not understand', {
    hint: 'the CLI and the running node may be different versions: overlay down, then overlay up',
  });
}

function connectError(socketPath: string, e: Error): OverlayError {
  const code = errnoOf(e);
  if (code === 'ENOENT' || code === 'ECONNREFUSED' || code === 'ENOTDIR')
    return notRunningError(socketPath, e);
  if (code === 'EAGAIN') {
    // Unix sockets refuse with EAGAIN when the listener's backlog is full: a node is there.
    return new ControlError('EBUSY', `the node's control socket ${socketPath} is busy`, {
      hint: 'try again in a moment',
      cause: e,
    });
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new OverlayError('EPERM', `cannot open the control socket ${socketPath}: permission denied`, {
      hint: 'the node runs as another user: run with sudo',
      cause: e,
    });
  }
  return new OverlayError('EINTERNAL', `cannot connect to the control socket ${socketPath}: ${e.message}`, {
    cause: e,
  });
}
