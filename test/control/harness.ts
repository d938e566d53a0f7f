import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { ControlServer, type ControlServerOptions } from '../../core/control/server.js';

/** A fresh 0700 directory for one test, removed afterwards. */
export function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ovl-ctl-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A listening server in its own temp dir, closed when the test ends (even when it fails). */
export async function startServer(
  t: ExecutionContext,
  options: Omit<ControlServerOptions, 'socketPath'> & { socketPath?: string },
): Promise<ControlServer> {
  const server = new ControlServer({ socketPath: path.join(tempDir(t), 'control.sock'), ...options });
  t.teardown(() => server.close());
  await server.listen();
  return server;
}

/**
 * A client that writes raw bytes and reads JSON lines, to send what ControlClient never would.
 * Every read has a deadline.
 */
export class RawClient {
  private buffered = '';
  private readonly lines: unknown[] = [];
  private waiters: (() => void)[] = [];
  ended = false;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffered += d;
      for (let nl = this.buffered.indexOf('\n'); nl !== -1; nl = this.buffered.indexOf('\n')) {
        this.lines.push(JSON.parse(this.buffered.slice(0, nl)));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
  }

  static connect(t: ExecutionContext, socketPath: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.createConnection(socketPath);
      t.teardown(() => s.destroy());
      s.once('connect', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  write(text: string | Buffer): void {
    this.socket.write(text);
  }

  /** The next JSON line from the server; throws after `timeoutMs` or if the server hangs up. */
  async next(timeoutMs = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.lines.shift();
      if (line !== undefined) return line as Record<string, unknown>;
      if (this.ended) throw new Error('the server closed the connection');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no line from the server within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves once the server has closed the connection; throws after `timeoutMs`. */
  async closedByServer(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the server kept the connection open for ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }
}

/** Resolves with the value, or rejects after `ms`: a test never waits forever. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    }),
  ]);
}
