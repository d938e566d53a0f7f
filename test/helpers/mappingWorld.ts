/**
 * A world of namespaces with NAT routers that offer port mapping: Debian's miniupnpd-nftables in
 * each router's namespace, with its own config, pid and lease files (shared/recipes/
 * miniupnpd-in-a-namespace.md).
 *
 * miniupnpd refuses to map when its WAN address is in a reserved range, and every range of the
 * network rules is reserved. So the WAN side here is 11.0.0.0/24 — allowed (DEVELOPERS.md) only
 * because no namespace of this world has any link to the host's namespace: `assertIsolated` checks
 * that before anything starts, and nothing here is ever routed toward the host.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { assertIsolated } from '../../cli/demo/isolation.js';
import { miniupnpdConfig, nftRuleset, systemTool } from '../../cli/demo/mappingRouter.js';

export { systemTool };

import { Netns, plugIntoBridge } from './netns.js';

/** The "internet" of this world: outside the reserved ranges, reachable from nowhere but here. */
export const WAN_PREFIX = '11.0.0';

export interface MappingRouter {
  readonly router: Netns;
  readonly wan: string;
  readonly lan: string;
  /** Starts (or starts again) miniupnpd offering `offer`; resolves once it listens. */
  startMiniupnpd(offer?: { upnp?: boolean; natpmp?: boolean }): Promise<void>;
  /** Stops miniupnpd; with `forget`, also loses its rules and leases, as a router that restarts. */
  stopMiniupnpd(o?: { forget?: boolean }): Promise<void>;
  /** The DNAT rules miniupnpd installed (nft's text of its prerouting chain). */
  forwards(): string;
  host(name: string): Netns;
}

/** The tools these worlds need and do not have; empty when all are installed. */
export function missingTools(): string[] {
  return ['nft', 'miniupnpd'].filter((tool) => systemTool(tool) === undefined);
}

export class MappingWorld {
  readonly namespaces: Netns[] = [];
  private readonly inet: Netns;
  private readonly dir: string;
  private nextRouter = 0;

  constructor(
    private readonly t: Pick<ExecutionContext, 'teardown'>,
    private readonly tag: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'ovl-upnp-'));
    t.teardown(() => rmSync(this.dir, { recursive: true, force: true }));
    this.inet = this.ns('inet');
    this.inet.ip('link', 'add', 'br0', 'type', 'bridge');
    this.inet.ip('link', 'set', 'br0', 'up');
  }

  private ns(name: string): Netns {
    const ns = new Netns(`${this.tag}${name}`);
    this.t.teardown(() => ns.destroy());
    this.namespaces.push(ns);
    return ns;
  }

  publicHost(name: string, last: number): { ns: Netns; address: string } {
    const ns = this.ns(name);
    const address = `${WAN_PREFIX}.${last}`;
    plugIntoBridge(ns, this.inet, 'br0', `${address}/24`);
    return { ns, address };
  }

  /**
   * A router with WAN 11.0.0.N on an interface named "wan" and LAN 198.18.(76+N).1/24 on bridge "lan";
   * nft masquerade, `fully-random` for a port-per-destination NAT.
   */
  router(name: string, o: { randomFully: boolean }): MappingRouter {
    const n = ++this.nextRouter;
    const router = this.ns(name);
    const wan = `${WAN_PREFIX}.${n}`;
    const lanNet = `198.18.${76 + n}`;
    // The recipe's config and rules name the WAN interface "wan".
    const inetIf = `w${this.tag}${n}`.slice(0, 15);
    execFileSync('ip', [
      'link',
      'add',
      'wan',
      'netns',
      router.name,
      'type',
      'veth',
      'peer',
      'name',
      inetIf,
      'netns',
      this.inet.name,
    ]);
    this.inet.ip('link', 'set', inetIf, 'master', 'br0', 'up');
    router.ip('addr', 'add', `${wan}/24`, 'dev', 'wan');
    router.ip('link', 'set', 'wan', 'up');
    router.ip('link', 'add', 'lan', 'type', 'bridge');
    router.ip('addr', 'add', `${lanNet}.1/24`, 'dev', 'lan');
    router.ip('link', 'set', 'lan', 'up');
    router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    const rules = join(this.dir, `${name}.nft`);
    writeFileSync(rules, nftRuleset(o.randomFully));
    router.exec(tool('nft'), ['-f', rules]);
    const conf = join(this.dir, `${name}.conf`);
    const pid = join(this.dir, `${name}.pid`);
    const lease = join(this.dir, `${name}.leases`);
    let daemon: ReturnType<Netns['spawn']> | undefined;
    let hosts = 0;
    return {
      router,
      wan,
      lan: `${lanNet}.1`,
      startMiniupnpd: async (offer = {}) => {
        const bin = tool('miniupnpd');
        writeFileSync(conf, miniupnpdConfig(lanNet, lease, offer.upnp ?? true, offer.natpmp ?? true));
        daemon = router.spawn(bin, ['-f', conf, '-d', '-P', pid]);
        const log: string[] = [];
        daemon.stderr?.on('data', (d: Buffer) => {
          log.push(d.toString());
          if (process.env['MINIUPNPD_DEBUG']) process.stderr.write(d);
        });
        daemon.stdout?.on('data', (d: Buffer) => log.push(d.toString()));
        for (let i = 0; i < 100; i++) {
          if (/Listening for NAT-PMP|HTTP listening/.test(log.join(''))) return;
          if (daemon.exitCode !== null) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        throw new Error(`miniupnpd did not start in ${name}: ${log.join('').slice(-2000)}`);
      },
      stopMiniupnpd: async (o = {}) => {
        const d = daemon;
        daemon = undefined;
        if (d && d.exitCode === null) {
          const gone = new Promise((r) => d.once('exit', r));
          d.kill('SIGTERM');
          await Promise.race([gone, new Promise((r) => setTimeout(r, 3000))]);
        }
        if (o.forget) {
          // A power cycle: what the router knew is gone with it (rules, and the lease file it reloads).
          router.exec(tool('nft'), ['flush', 'chain', 'inet', 'upnp', 'prerouting_miniupnpd']);
          rmSync(lease, { force: true });
        }
      },
      forwards: () => router.exec(tool('nft'), ['list', 'chain', 'inet', 'upnp', 'prerouting_miniupnpd']),
      host: (hostName: string) => {
        const host = this.ns(hostName);
        plugIntoBridge(host, router, 'lan', `${lanNet}.${10 + hosts++}/24`);
        host.ip('route', 'add', 'default', 'via', `${lanNet}.1`);
        return host;
      },
    };
  }

  /**
   * The rule that lets this world use addresses outside the network rules' ranges: no namespace of
   * it has a link to the host's namespace. Every interface is lo, a bridge, or a veth whose peer
   * lives in a namespace of this world, by name (`link-netns NAME`; a peer in the host's namespace,
   * which has no name, shows as a bare `link-netnsid`), and no namespace of it is the host's own.
   */
  assertIsolated(): void {
    assertIsolated(this.namespaces.map((ns) => ns.name));
  }
}

function tool(name: string): string {
  const path = systemTool(name);
  if (!path) throw new Error(`${name} is not installed (install.sh installs it)`);
  return path;
}
