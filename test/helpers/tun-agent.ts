import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Netns } from './netns.js';

/** The compiled child script that drives tun-napi inside a namespace (test/fixtures/tun-agent.ts). */
export const tunAgentScript = fileURLToPath(new URL('../fixtures/tun-agent.js', import.meta.url));

/**
 * A command prefix that runs the rest in a mount namespace of its own, after the shell command
 * `setup` (a mount that only that process and its children see).
 */
export function inPrivateMounts(setup: string): string[] {
  return ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', `${setup} && exec "$@"`, 'sh'];
}

export interface AgentError {
  name: string;
  message: string;
  code?: string;
  errno?: number;
  syscall?: string;
  device?: string;
  isTunError?: boolean;
}

export type AgentReply<T> = { ok: true; result: T } | { ok: false; error: AgentError };

export interface AgentExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface TunAgentOptions {
  /** Drop root: run as nobody (uid/gid 65534) with no supplementary groups. */
  asNobody?: boolean;
  /** Run in a private mount namespace where /dev/net is an empty tmpfs. */
  hideTunDevice?: boolean;
}

/**
 * The test side of tun-agent: starts the child inside `ns` and sends it requests. Every request
 * has a deadline; the child dies with the namespace (Netns.destroy kills it).
 */
export class TunAgent {
  readonly exited: Promise<AgentExit>;
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (reply: AgentReply<unknown>) => void>();
  private nextId = 1;
  private buffered = '';
  private stderr = '';

  constructor(ns: Netns, options: TunAgentOptions = {}) {
    const node = [process.execPath, '--expose-gc', tunAgentScript];
    let command = node;
    if (options.asNobody)
      command = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...command];
    if (options.hideTunDevice) command = [...inPrivateMounts('mount -t tmpfs tmpfs /dev/net'), ...command];
    const [cmd, ...args] = command as [string, ...string[]];
    this.child = ns.spawn(cmd, args);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        for (const reply of this.pending.values()) {
          reply({
            ok: false,
            error: { name: 'AgentExited', message: `agent exited: ${this.stderr.trim()}` },
          });
        }
        this.pending.clear();
        resolve({ code, signal });
      });
    });
    this.child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.child.stdout?.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** What the child wrote to stderr so far (for failure messages). */
  get errorOutput(): string {
    return this.stderr;
  }

  request<T = unknown>(
    op: string,
    args: Record<string, unknown> = {},
    timeoutMs = 10_000,
  ): Promise<AgentReply<T>> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ ok: false, error: { name: 'AgentTimeout', message: `${op} took over ${timeoutMs} ms` } });
      }, timeoutMs);
      this.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply as AgentReply<T>);
      });
      this.child.stdin?.write(`${JSON.stringify({ id, op, args })}\n`);
    });
  }

  /** Like request, but a failed reply throws, for steps that are not what the test checks. */
  async must<T = unknown>(op: string, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<T> {
    const reply = await this.request<T>(op, args, timeoutMs);
    if (!reply.ok)
      throw new Error(`${op} failed: ${reply.error.code ?? reply.error.name}: ${reply.error.message}`);
    return reply.result;
  }

  /** Calls a Tun method in the child. */
  call<T = unknown>(method: string, ...args: unknown[]): Promise<AgentReply<T>> {
    return this.request<T>('call', { method, args });
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }

  private onData(chunk: Buffer): void {
    this.buffered += chunk.toString();
    let newline = this.buffered.indexOf('\n');
    while (newline >= 0) {
      const line = this.buffered.slice(0, newline);
      this.buffered = this.buffered.slice(newline + 1);
      newline = this.buffered.indexOf('\n');
      let message: { id: number } & AgentReply<unknown>;
      try {
        message = JSON.parse(line);
      } catch {
        continue; // not a reply (stray output); the request's deadline still applies
      }
      this.pending.get(message.id)?.(message);
      this.pending.delete(message.id);
    }
  }
}

/** Exit status within `ms`, or 'running' (the child is left for its namespace to kill). */
export function exitWithin(agent: TunAgent, ms: number): Promise<AgentExit | 'running'> {
  return Promise.race([
    agent.exited,
    new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms).unref()),
  ]);
}
