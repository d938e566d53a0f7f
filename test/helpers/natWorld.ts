import type { ExecutionContext } from 'ava';
import { publicLink } from '../../cli/demo/internetRouter.js';
import { type NatKind, natRouterRules } from '../../cli/demo/natRouter.js';
import type { NodeStatus } from '../../core/node/status.js';
import type { OverlayHost } from './lan.js';
import { Netns, plugIntoBridge, veth } from './netns.js';

/**
 * A small internet in namespaces: a router for 203.0.113.0/24 ("the internet"), public hosts on
 * links of their own to it, and NAT routers each with a LAN in 198.18.0.0/15 behind it. A router,
 * not a switch: between any two public addresses lies one hop, as on the real internet, so a
 * datagram sent with a small TTL dies between two NATs (cli/demo/internetRouter.ts, which the demo
 * builds its internet from too).
 * MASQUERADE keeps a flow's source port when it can (endpoint-independent mapping); with
 * `randomFully`, every destination gets a fresh random port (endpoint-dependent: hole punching
 * cannot work through it). With `firewall: false` the router only masquerades: no filter rule
 * drops what comes unsolicited from the internet (cli/demo/natRouter.ts).
 */
export class NatWorld {
  private readonly inet: Netns;
  private nextNat = 1;

  constructor(
    /** Whoever cleans up: an AVA test, or a benchmark's own list. */
    private readonly t: Pick<ExecutionContext, 'teardown'>,
    private readonly tag: string,
  ) {
    this.inet = this.ns('inet');
    this.inet.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
  }

  private ns(name: string): Netns {
    const ns = new Netns(`${this.tag}${name}`);
    this.t.teardown(() => ns.destroy());
    return ns;
  }

  /** Links `ns` to the internet's router with public address `ip` (in 203.0.113.0/24); returns its interface. */
  private plug(ns: Netns, ip: string): string {
    const { ifA: hostIf, ifB: routerIf } = veth(ns, this.inet);
    const link = publicLink(ip, hostIf, routerIf);
    for (const args of link.host) ns.ip(...args);
    for (const args of link.router) this.inet.ip(...args);
    return hostIf;
  }

  /** A host with a public address on the internet. */
  publicHost(name: string, address: string): Netns {
    const host = this.ns(name);
    this.plug(host, address);
    return host;
  }

  /** A NAT router with public address `wan` and a LAN 198.18.N.0/24; returns a function adding hosts behind it. */
  nat(
    name: string,
    wan: string,
    /** firewall: false: no filter rules, plain MASQUERADE (natRouterRules). */
    options: NatKind = {},
  ): { router: Netns; wanIf: string; host(name: string): Netns } {
    const router = this.ns(name);
    const wanIf = this.plug(router, wan);
    const n = this.nextNat++;
    router.ip('link', 'add', 'lan0', 'type', 'bridge');
    router.ip('addr', 'add', `198.18.${n}.1/24`, 'dev', 'lan0');
    router.ip('link', 'set', 'lan0', 'up');
    router.exec('sysctl', ['-qw', 'net.ipv4.ip_forward=1']);
    for (const rule of natRouterRules(wanIf, options)) router.exec('iptables', rule);
    let hosts = 0;
    return {
      router,
      wanIf,
      host: (hostName: string) => {
        const host = this.ns(hostName);
        plugIntoBridge(host, router, 'lan0', `198.18.${n}.${10 + hosts++}/24`);
        host.ip('route', 'add', 'default', 'via', `198.18.${n}.1`);
        return host;
      },
    };
  }
}

/** `member` joins with an invite from `p` and comes up. */
export async function joinVia(p: OverlayHost, member: OverlayHost, name: string): Promise<void> {
  const { code } = await p.json<{ code: string }>(['invite']);
  await member.ok(['join', code, '--name', name]);
  await member.ok(['up']);
}

/** Polls `a`'s status until its path to `peer` satisfies `ok`; returns how long it took, or throws. */
export async function pathWithin(
  a: OverlayHost,
  peer: string,
  ms: number,
  ok: (p: NodeStatus['peers'][number]) => boolean,
): Promise<number> {
  const start = Date.now();
  let last: NodeStatus['peers'][number] | undefined;
  while (Date.now() - start < ms) {
    last = (await a.json<NodeStatus>(['status'])).peers.find((x) => x.name === peer);
    if (last && ok(last)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`path to ${peer} not as expected in ${ms} ms: ${JSON.stringify(last)}`);
}
