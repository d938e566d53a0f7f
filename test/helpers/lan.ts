import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { type CliResult, runCli } from './cli.js';
import { until } from './jsonLines.js';
import { Netns, plugIntoBridge } from './netns.js';

/**
 * Hosts on one LAN segment: a switch namespace with a bridge, and one namespace per host with a
 * veth into it, addressed 192.0.2.1, .2, ... in order. All are destroyed at the test's end.
 */
export function lan(
  t: Pick<ExecutionContext, 'teardown'>,
  tag: string,
  count: number,
): { hosts: Netns[]; addresses: string[] } {
  const sw = new Netns(`${tag}sw`);
  t.teardown(() => sw.destroy());
  sw.ip('link', 'add', 'br0', 'type', 'bridge');
  sw.ip('link', 'set', 'br0', 'up');
  const hosts: Netns[] = [];
  const addresses: string[] = [];
  for (let i = 0; i < count; i++) {
    const host = new Netns(`${tag}h${i}`);
    t.teardown(() => host.destroy());
    const address = `192.0.2.${i + 1}`;
    plugIntoBridge(host, sw, 'br0', `${address}/24`);
    hosts.push(host);
    addresses.push(address);
  }
  return { hosts, addresses };
}

/** `overlay ...` as a user on one host, with its own state directory. */
export class OverlayHost {
  constructor(
    readonly ns: Netns,
    readonly stateDir: string,
  ) {}

  run(args: string[], timeoutMs = 30_000, env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
    return runCli([...args, '--state-dir', this.stateDir], {
      prefix: ['ip', 'netns', 'exec', this.ns.name],
      timeoutMs,
      env,
    });
  }

  /** Runs a command that must succeed and prints JSON; returns it parsed. */
  async json<T = Record<string, unknown>>(args: string[], timeoutMs?: number): Promise<T> {
    const r = await this.run([...args, '--json'], timeoutMs);
    if (r.code !== 0) throw new Error(`overlay ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  }

  async ok(args: string[], timeoutMs?: number): Promise<CliResult> {
    const r = await this.run(args, timeoutMs);
    if (r.code !== 0) throw new Error(`overlay ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r;
  }

  /** A crash: SIGKILL to the running node (no `down`, nothing cleaned up), and waits until it is gone. */
  async kill9(): Promise<void> {
    const pid = Number(readFileSync(join(this.stateDir, 'overlay.pid'), 'utf8').trim());
    process.kill(pid, 'SIGKILL');
    await until('the killed node to be gone', () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  }
}
