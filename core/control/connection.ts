import type net from 'node:net';
import { OverlayError } from '../errors.js';
import { ControlError } from './controlError.js';
import {
  encodeLine,
  errorToWire,
  LineSplitter,
  type Params,
  parseRequest,
  type RequestId,
  type Response,
} from './protocol.js';

export interface RequestContext {
  method: string;
  /** Aborted when the client goes away or the server closes: a long handler may stop early. */
  signal: AbortSignal;
}

export type Handler = (params: Params, ctx: RequestContext) => Promise<unknown>;

/**
 * A streaming method: calls `emit` for each event until `signal` aborts (the client closed, or
 * the server is closing). The stream ends when the returned promise settles: resolving sends a
 * final {"id", "result": null}, rejecting sends the error.
 */
export type StreamHandler = (
  params: Params,
  emit: (event: unknown) => void,
  signal: AbortSignal,
) => Promise<void> | void;

/** What a connection needs of the server's options. */
export interface ConnectionLimits {
  handlers: Record<string, Handler>;
  maxRequestBytes: number;
  maxInflightPerClient: number;
  maxStreamsPerClient: number;
  maxUnreadBytesPerClient: number;
  idleTimeoutMs: number;
  closeGraceMs: number;
  onError?: ((e: unknown) => void) | undefined;
}

/** One client: its line buffer, its requests in flight, its streams. */
export class Connection {
  private readonly splitter: LineSplitter;
  private readonly queue: string[] = [];
  private inflight = 0;
  private streamCount = 0;
  private readEnded = false;
  private dead = false;
  /** Handlers see this: aborted when the connection is gone. */
  private readonly gone = new AbortController();
  /** Streams see this: aborted as soon as the client stops sending (closing its side counts). */
  private readonly streamsDone = new AbortController();
  private idleTimer: NodeJS.Timeout | undefined;
  /** When this connection last became idle (answered everything, no stream), for eviction. */
  idleSince = Date.now();

  constructor(
    private readonly socket: net.Socket,
    private readonly options: ConnectionLimits,
    private readonly streams: Record<string, StreamHandler>,
  ) {
    this.splitter = new LineSplitter(options.maxRequestBytes);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.readEnded = true;
      this.streamsDone.abort();
      this.finishIfIdle();
    });
    this.armIdleTimer();
  }

  /** Nothing in flight, no stream, no request waiting: a client that only holds its slot. */
  get idle(): boolean {
    return !this.dead && this.inflight === 0 && this.streamCount === 0 && this.queue.length === 0;
  }

  /** Tells the client why (one error line with id null), then ends the connection. */
  closeWith(e: ControlError): void {
    this.send({ id: null, error: errorToWire(e) });
    this.end();
  }

  /** Counts from the moment the connection has nothing left to do; a partial line does not count. */
  private armIdleTimer(): void {
    clearTimeout(this.idleTimer);
    if (!this.idle) return;
    this.idleSince = Date.now();
    const ms = this.options.idleTimeoutMs;
    this.idleTimer = setTimeout(() => {
      if (!this.idle) return;
      this.closeWith(
        new ControlError('ETIMEOUT', `closed: no request for ${ms} ms`, {
          hint: 'connect when you have a request to send',
        }),
      );
    }, ms);
    // An idle client's timer must not be what keeps a stopping node's process alive.
    this.idleTimer.unref();
  }

  end(): void {
    clearTimeout(this.idleTimer);
    this.streamsDone.abort();
    this.gone.abort();
    this.queue.length = 0;
    this.dead = true;
    this.socket.end();
    // A client that never closes its side would otherwise keep its slot among maxClients.
    setTimeout(() => this.socket.destroy(), this.options.closeGraceMs).unref();
  }

  destroy(): void {
    clearTimeout(this.idleTimer);
    this.dead = true;
    this.socket.destroy();
  }

  closed(): void {
    clearTimeout(this.idleTimer);
    this.dead = true;
    this.streamsDone.abort();
    this.gone.abort();
  }

  private onData(chunk: Buffer): void {
    if (this.dead) return;
    const lines = this.splitter.push(chunk);
    if (lines === 'overflow') {
      // The line's end is lost in bytes we did not keep; nothing after it can be framed.
      this.send({
        id: null,
        error: errorToWire(
          new ControlError('EBADREQUEST', `request line longer than ${this.options.maxRequestBytes} bytes`),
        ),
      });
      this.end();
      return;
    }
    if (lines.length > 0) clearTimeout(this.idleTimer);
    this.queue.push(...lines);
    this.pump();
  }

  private pump(): void {
    while (!this.dead && this.queue.length > 0 && this.inflight < this.options.maxInflightPerClient) {
      const line = this.queue.shift()!;
      if (line.trim() !== '') this.dispatch(line);
    }
    // Backpressure: stop reading while lines wait, so a flood stays in the kernel's buffer.
    if (this.queue.length > 0) this.socket.pause();
    else if (!this.dead) this.socket.resume();
    this.finishIfIdle();
    this.armIdleTimer();
  }

  private finishIfIdle(): void {
    if (this.readEnded && !this.dead && this.inflight === 0 && this.streamCount === 0 && !this.queue.length) {
      this.dead = true;
      this.socket.end();
    }
  }

  private dispatch(line: string): void {
    const req = parseRequest(line);
    if ('problem' in req) {
      this.send({ id: req.id, error: errorToWire(new ControlError('EBADREQUEST', req.problem)) });
      return;
    }
    const { id, method, params } = req;
    if (Object.hasOwn(this.options.handlers, method)) {
      this.runHandler(id, this.options.handlers[method]!, method, params);
    } else if (Object.hasOwn(this.streams, method)) {
      this.runStream(id, this.streams[method]!, params);
    } else {
      this.send({
        id,
        error: errorToWire(
          new ControlError('ENOMETHOD', `the node does not serve the control method "${method}"`, {
            hint: 'the running node may be an older version: overlay down, then overlay up',
          }),
        ),
      });
    }
  }

  private runHandler(id: RequestId, handler: Handler, method: string, params: Params): void {
    this.inflight++;
    const ctx: RequestContext = { method, signal: this.gone.signal };
    // Promise.resolve().then: a handler that throws synchronously is answered like one that rejects.
    Promise.resolve()
      .then(() => handler(params, ctx))
      .then(
        (result) => this.send({ id, result: result ?? null }),
        (e: unknown) => this.sendError(id, e),
      )
      .finally(() => {
        this.inflight--;
        this.pump();
      });
  }

  private runStream(id: RequestId, stream: StreamHandler, params: Params): void {
    if (this.streamCount >= this.options.maxStreamsPerClient) {
      this.send({
        id,
        error: errorToWire(
          new ControlError('EBUSY', `at most ${this.options.maxStreamsPerClient} streams per connection`),
        ),
      });
      return;
    }
    this.streamCount++;
    const signal = this.streamsDone.signal;
    const emit = (event: unknown) => {
      if (!signal.aborted) this.send({ id, event });
    };
    Promise.resolve()
      .then(() => stream(params, emit, signal))
      .then(
        () => this.send({ id, result: null }),
        (e: unknown) => {
          if (!signal.aborted) this.sendError(id, e);
        },
      )
      .finally(() => {
        this.streamCount--;
        this.finishIfIdle();
        this.armIdleTimer();
      });
  }

  private sendError(id: RequestId, e: unknown): void {
    // Errors the user can act on travel as they are; anything else is a bug worth logging.
    if (!(e instanceof OverlayError)) this.options.onError?.(e);
    this.send({ id, error: errorToWire(e) });
  }

  private send(message: Response): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    let line: string;
    try {
      line = encodeLine(message);
    } catch (e) {
      // A result JSON cannot carry (a cycle, a BigInt): answer with an error, not a crash.
      this.options.onError?.(e);
      line = encodeLine({
        id: message.id,
        error: { code: 'EINTERNAL', message: 'the node could not encode its answer as JSON' },
      });
    }
    this.socket.write(line);
    if (this.socket.writableLength > this.options.maxUnreadBytesPerClient) {
      // A client that does not read (a stalled `status --watch`) must not grow the node's memory.
      this.destroy();
    }
  }
}
