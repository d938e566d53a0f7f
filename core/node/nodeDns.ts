/**
 * The node's names: its resolver on the overlay address (core/dns), fed a snapshot of the roster
 * whenever gossip changes it. It never stops the node: a resolver that cannot bind (port 53 taken
 * on the address) is logged and shown in `overlay status`, and the rest runs on.
 */
import { readFileSync } from 'node:fs';
import { formatEndpoint } from '../base/endpoint.js';
import { nameservers } from '../dns/resolvConf.js';
import { Resolver } from '../dns/resolver.js';
import { DnsServer } from '../dns/server.js';
import { NameTable, zoneOf } from '../dns/zone.js';
import type { Network } from '../membership/network.js';
import type { Member } from '../membership/roster.js';

export const RESOLV_CONF = '/etc/resolv.conf';

export interface NodeDnsOptions {
  network: Network;
  /** This node's membership: its overlay addresses are the resolver's. */
  self: Member;
  members: readonly Member[];
  log: (line: string) => void;
  /** Tests only: another port than 53. */
  port?: number;
}

/** What `overlay status` shows of the names. */
export interface NamesStatus {
  zone: string;
  /** The resolver's address, or null while it is not serving. */
  resolver: string | null;
  /** The host's resolvers it forwards other names to. */
  upstreams: string[];
  /** Why it is not serving, when it is not. */
  error?: string;
}

export class NodeDns {
  private readonly resolver: Resolver;
  private server: DnsServer | undefined;
  private error: string | undefined;
  private stopped = false;
  private readonly upstreams: string[];

  constructor(private readonly options: NodeDnsOptions) {
    const cert = options.self.certificate;
    const upstreams = nameservers(readHostResolvConf());
    this.upstreams = upstreams.map(formatEndpoint);
    this.resolver = new Resolver({
      names: table(options.network, options.members),
      ownAddresses: [cert.ipv4, cert.ipv6],
      upstreams,
      now: Date.now(),
    });
  }

  /** Binds the resolver; resolves once it serves or has failed (and said why in the log). */
  async start(): Promise<void> {
    const cert = this.options.self.certificate;
    try {
      const server = await DnsServer.start({
        resolver: this.resolver,
        ipv4: cert.ipv4,
        ipv6: cert.ipv6,
        log: this.options.log,
        ...(this.options.port !== undefined && { port: this.options.port }),
      });
      if (this.stopped) return server.stop();
      this.server = server;
      this.options.log(`names: ${this.resolver.zone} answered at ${cert.ipv4}`);
    } catch (e) {
      this.error = (e as Error).message;
      this.options.log(`names: no resolver on ${cert.ipv4}: ${this.error}`);
    }
  }

  /** The members now (gossip brought a certificate or a revocation, or one expired). */
  setMembers(members: readonly Member[]): void {
    this.resolver.setNames(table(this.options.network, members));
  }

  status(): NamesStatus {
    return {
      zone: this.resolver.zone,
      resolver: this.server ? this.server.address : null,
      upstreams: this.upstreams,
      ...(this.error !== undefined && { error: this.error }),
    };
  }

  /** The resolver's counters, as `dns.NAME`. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, n] of Object.entries(this.resolver.counters())) out[`dns.${name}`] = n;
    if (this.server?.faults) out['dns.faults'] = this.server.faults;
    return out;
  }

  stop(): void {
    this.stopped = true;
    this.server?.stop();
    this.server = undefined;
  }
}

function table(network: Network, members: readonly Member[]): NameTable {
  return new NameTable(
    zoneOf(network.name),
    network.ipv4Subnet,
    network.ipv6Subnet,
    members.map((m) => m.certificate),
  );
}

/** The host's resolv.conf; none (a container without one) means no resolvers to forward to. */
function readHostResolvConf(): string {
  try {
    return readFileSync(RESOLV_CONF, 'utf8');
  } catch {
    return '';
  }
}
