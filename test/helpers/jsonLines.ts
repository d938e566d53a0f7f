import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';

export type JsonEvent = Record<string, unknown> & { event: string };

/**
 * A child process that speaks JSON lines: commands in on stdin, events out on stdout. The test
 * keeps every event in arrival order and waits for one with a deadline, never forever.
 */
export class JsonLinesChild {
  readonly events: JsonEvent[] = [];
  private waiters: (() => void)[] = [];

  constructor(
    readonly child: ChildProcess,
    private readonly label: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as JsonEvent);
      } catch {
        this.events.push({ event: 'unparsed', line });
      }
      for (const w of this.waiters.splice(0)) w();
    });
    child.on('exit', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  command(obj: unknown): void {
    this.child.stdin!.write(`${JSON.stringify(obj)}\n`);
  }

  /** The first event (from `since` on) matching `pred`; throws after `timeoutMs`. */
  async waitFor(
    what: string,
    pred: (e: JsonEvent) => boolean,
    timeoutMs = 10_000,
    since = 0,
  ): Promise<JsonEvent> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events.slice(since).find(pred);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `${this.label} exited (${this.child.exitCode ?? this.child.signalCode}) before ${what}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}; ${this.label} said: ${JSON.stringify(this.events.slice(-8))}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a command and waits for the reply event named `reply` that comes after it. */
  async request(obj: unknown, reply: string, timeoutMs = 10_000): Promise<JsonEvent> {
    const since = this.events.length;
    this.command(obj);
    return this.waitFor(reply, (e) => e.event === reply, timeoutMs, since);
  }
}

/** Polls `check` every 50 ms until it holds; throws after `timeoutMs`. */
export async function until(what: string, check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
