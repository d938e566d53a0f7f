/**
 * The demo's small internet, in network namespaces it owns: a router for 203.0.113.0/24 with every
 * public host on a link of its own (internetRouter.ts: one hop between two public addresses, as
 * discovery's openers need), a public member, and three NAT routers with a member each behind them
 * (natRouter.ts): a keeps a port per socket behind a firewall (endpoint-independent, as most home
 * routers), e keeps ports with no firewall at all (plain MASQUERADE: a host NATing for its VMs, a
 * cloud NAT instance), b picks a new port per destination (endpoint-dependent, `MASQUERADE
 * --random-fully`), so that b needs a relay. Everything is named with one prefix and removed by
 * destroy(), also after a crash of an earlier run.
 *
 * A second internet (buildMapped) has two routers that pick a port per destination but offer port
 * mapping (miniupnpd: PCP, NAT-PMP, UPnP IGD), so that pair goes direct through the mapped ports.
 * miniupnpd refuses reserved WAN addresses, so that internet is 11.0.0.0/24 — allowed only because
 * no namespace of the demo has a link to the host's namespace, checked (assertIsolated) before any
 * daemon or member starts there.
 */

import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { publicLink } from './internetRouter.js';
import { assertIsolated } from './isolation.js';
import { miniupnpdConfig, nftRuleset, systemTool } from './mappingRouter.js';
import { type NatKind, natRouterRules } from './natRouter.js';

/** The mapped internet's prefix: outside every reserved range, as miniupnpd requires. */
const MAPPED_WAN = '11.0.0';

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
}

export class DemoWorld {
  readonly namespaces: string[] = [];
  private links = 0;
  /** miniupnpd processes started here (ip netns exec: killed with their namespace's pids too). */
  private readonly daemons: ChildProcess[] = [];

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

  /** A link from `host` to the internet's router `inet`, with public address `address`; returns its interface. */
  private link(host: string, inet: string, address: string): string {
    const [hostIf, routerIf] = this.veth(host, inet);
    const link = publicLink(address, hostIf, routerIf);
    for (const args of link.host) run('ip', ['-n', host, ...args]);
    for (const args of link.router) run('ip', ['-n', inet, ...args]);
    return hostIf;
  }

  /** Builds the internet; returns the namespaces of the public member and the three NATed ones. */
  build(): { p: string; a: string; b: string; e: string } {
    const inet = this.ns('inet');
    run('ip', ['netns', 'exec', inet, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const p = this.ns('p');
    this.link(p, inet, '203.0.113.10');
    // e is a member of its own rather than a switched to no firewall: the firewalled kind stays in
    // the story beside it (both direct, to p and to each other), and so does everything a showed.
    const a = this.natted('a', inet, 1, {});
    const b = this.natted('b', inet, 2, { randomFully: true });
    const e = this.natted('e', inet, 3, { firewall: false });
    return { p, a, b, e };
  }

  private natted(name: string, inet: string, n: number, kind: NatKind): string {
    const router = this.ns(`nat${name}`);
    const wan = this.link(router, inet, `203.0.113.${n}`);
    this.bridge(router, 'lan', `198.18.${n}.1/24`);
    run('ip', ['netns', 'exec', router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    for (const rule of natRouterRules(wan, kind)) {
      run('ip', ['netns', 'exec', router, 'iptables', ...rule]);
    }
    return this.behind(router, name, `198.18.${n}`);
  }

  /**
   * The second internet: public member q at 11.0.0.10, and c and d each behind a router whose NAT
   * picks a port per destination and whose miniupnpd maps ports. Checks that its namespaces have no
   * link but to each other before any daemon or member starts; `dir` holds the routers' configs.
   */
  async buildMapped(dir: string): Promise<{ q: string; c: string; d: string }> {
    const first = this.namespaces.length;
    const inet = this.ns('inet2');
    this.bridge(inet, 'br0');
    const q = this.ns('q');
    this.plug(q, inet, 'br0', `${MAPPED_WAN}.10/24`);
    const routers = [1, 2].map((n) => this.mappingRouter(inet, n, dir));
    const [c, d] = routers.map((r, i) => this.behind(r.ns, ['c', 'd'][i]!, r.lanNet));
    // This world's namespaces only: linked to nothing but each other (the first world's members have
    // TUN devices by now; they hold 203.0.113.0/24 and 198.18.0.0/15 addresses, which need no check).
    assertIsolated(this.namespaces.slice(first));
    for (const r of routers) await this.startMiniupnpd(r.ns, r.lanNet, dir);
    return { q, c: c!, d: d! };
  }

  private mappingRouter(inet: string, n: number, dir: string): { ns: string; lanNet: string } {
    const ns = this.ns(`map${n}`);
    const sw = `dm${this.links++}`;
    // miniupnpd's config names the WAN interface "wan" (mappingRouter.ts).
    run('ip', ['link', 'add', 'wan', 'netns', ns, 'type', 'veth', 'peer', 'name', sw, 'netns', inet]);
    run('ip', ['-n', inet, 'link', 'set', sw, 'master', 'br0', 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `${MAPPED_WAN}.${n}/24`, 'dev', 'wan']);
    run('ip', ['-n', ns, 'link', 'set', 'wan', 'up']);
    const lanNet = `198.18.${76 + n}`;
    this.bridge(ns, 'lan', `${lanNet}.1/24`);
    run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const rules = join(dir, `map${n}.nft`);
    writeFileSync(rules, nftRuleset(true));
    run('ip', ['netns', 'exec', ns, systemTool('nft') ?? 'nft', '-f', rules]);
    return { ns, lanNet };
  }

  /** A member's namespace on bridge "lan" of `router`, at `lanNet`.10, routed through `lanNet`.1. */
  private behind(router: string, name: string, lanNet: string): string {
    const host = this.ns(name);
    this.plug(host, router, 'lan', `${lanNet}.10/24`);
    run('ip', ['-n', host, 'route', 'add', 'default', 'via', `${lanNet}.1`]);
    return host;
  }

  /** miniupnpd in the foreground in `router`, with its own config, pid and lease files; waits until it listens. */
  private async startMiniupnpd(router: string, lanNet: string, dir: string): Promise<void> {
    const conf = join(dir, `${router}.conf`);
    writeFileSync(conf, miniupnpdConfig(lanNet, join(dir, `${router}.leases`), true, true));
    const daemon: ChildProcess = spawn(
      'ip',
      [
        'netns',
        'exec',
        router,
        systemTool('miniupnpd') ?? 'miniupnpd',
        '-f',
        conf,
        '-d',
        '-P',
        join(dir, `${router}.pid`),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    daemon.stdout?.on('data', (b: Buffer) => {
      log += b.toString();
    });
    daemon.stderr?.on('data', (b: Buffer) => {
      log += b.toString();
    });
    this.daemons.push(daemon);
    for (let i = 0; i < 100; i++) {
      if (/Listening for NAT-PMP|HTTP listening/.test(log)) return;
      if (daemon.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`miniupnpd did not start in ${router}: ${log.slice(-500)}`);
  }

  /** Kills every process in the demo's namespaces and deletes them; safe to call twice. */
  destroy(): void {
    for (const d of this.daemons.splice(0)) if (d.exitCode === null) d.kill('SIGKILL');
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
