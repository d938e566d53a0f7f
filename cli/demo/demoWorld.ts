/**
 * The demo's small internet, in network namespaces it owns: a switch for 203.0.113.0/24, a public
 * member, and two NAT routers with a member each behind them — one keeping a port per socket
 * (endpoint-independent, as most home routers), one picking a new port per destination
 * (endpoint-dependent, `MASQUERADE --random-fully`), so that one pair needs a relay. Everything is
 * named with one prefix and removed by destroy(), also after a crash of an earlier run.
 */

import { execFileSync } from 'node:child_process';
import { natRouterRules } from './natRouter.js';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

export class DemoWorld {
  readonly namespaces: string[] = [];
  private links = 0;

  constructor(readonly prefix: string) {}

  private ns(name: string): string {
    const full = `${this.prefix}-${name}`;
    run('ip', ['netns', 'add', full]);
    this.namespaces.push(full);
    run('ip', ['-n', full, 'link', 'set', 'lo', 'up']);
    return full;
  }

  private veth(a: string, b: string): [string, string] {
    const n = this.links++;
    const [ia, ib] = [`dv${n}a`, `dv${n}b`];
    run('ip', ['link', 'add', ia, 'netns', a, 'type', 'veth', 'peer', 'name', ib, 'netns', b]);
    return [ia, ib];
  }

  private bridge(ns: string, name: string, address?: string): void {
    run('ip', ['-n', ns, 'link', 'add', name, 'type', 'bridge']);
    if (address) run('ip', ['-n', ns, 'addr', 'add', address, 'dev', name]);
    run('ip', ['-n', ns, 'link', 'set', name, 'up']);
  }

  private plug(host: string, sw: string, bridge: string, address: string): string {
    const [hostIf, swIf] = this.veth(host, sw);
    run('ip', ['-n', sw, 'link', 'set', swIf, 'master', bridge, 'up']);
    run('ip', ['-n', host, 'addr', 'add', address, 'dev', hostIf]);
    run('ip', ['-n', host, 'link', 'set', hostIf, 'up']);
    return hostIf;
  }

  /** Builds the internet; returns the namespaces of the public member and the two NATed ones. */
  build(): { p: string; a: string; b: string } {
    const inet = this.ns('inet');
    this.bridge(inet, 'br0');
    const p = this.ns('p');
    this.plug(p, inet, 'br0', '203.0.113.10/24');
    const a = this.natted('a', inet, 1, false);
    const b = this.natted('b', inet, 2, true);
    return { p, a, b };
  }

  private natted(name: string, inet: string, n: number, randomFully: boolean): string {
    const router = this.ns(`nat${name}`);
    const wan = this.plug(router, inet, 'br0', `203.0.113.${n}/24`);
    this.bridge(router, 'lan0', `198.18.${n}.1/24`);
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const rule of natRouterRules(wan, { randomFully })) {
      run('ip', ['netns', 'exec', router, 'iptables', ...rule]);
    }
    const host = this.ns(name);
    this.plug(host, router, 'lan0', `198.18.${n}.10/24`);
    run('ip', ['-n', host, 'route', 'add', 'default', 'via', `198.18.${n}.1`]);
    return host;
  }

  /** Kills every process in the demo's namespaces and deletes them; safe to call twice. */
  destroy(): void {
    for (const ns of [...this.namespaces].reverse()) {
      try {
        for (const pid of run('ip', ['netns', 'pids', ns]).split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        run('ip', ['netns', 'del', ns]);
      } catch {
        // already gone
      }
    }
    this.namespaces.length = 0;
  }
}
