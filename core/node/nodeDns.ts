/**
 * The node's names: its resolver on the overlay address (core/dns), fed a snapshot of the roster
 * whenever gossip changes it, and the host's DNS pointed at it for the zone (hostDns.ts) once it
 * serves, until the node stops. It never stops the node: a resolver that cannot bind (port 53
 * taken on the address) or a host it cannot configure is logged and shown in `overlay status`,
 * and the rest runs on.
 *
 * Order at start: undo what a crashed node left in the host's DNS, read the host's resolvers
 * (the upstreams) from what is then the host's own resolv.conf, bind, and only then point the
 * host at the resolver, so the host never waits on one that is not there.
 */
import { readFileSync } from 'node:fs';
import { formatEndpoint } from '../base/endpoint.js';
import {
  configureHostDns,
  type HostDnsState,
  type HostSystem,
  linuxHost,
  repairHostDns,
} from '../dns/hostDns.js';
import { nameservers } from '../dns/resolvConf.js';
import { Resolver } from '../dns/resolver.js';
import { DnsServer } from '../dns/server.js';
import { NameTable, zoneOf } from '../dns/zone.js';
import type { Network } from '../membership/network.js';
import type { Member, Roster } from '../membership/roster.js';
import type { NodeSettings } from './nodeState.js';

export interface NodeDnsOptions {
  stateDir: string;
  network: Network;
  /** The overlay interface: systemd-resolved's split DNS is set on it. */
  interfaceName: string;
  /** Whether to point the host's DNS at the resolver (`up --no-dns`: false). */
  hostDns: boolean;
  /** This node's membership: its overlay addresses are the resolver's. */
  self: Member;
  members: readonly Member[];
  log: (line: string) => void;
  /** Tests only: another port than 53, another host. */
  port?: number;
  host?: HostSystem;
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
  /** What the node did to the host's DNS: systemd-resolved's split DNS, resolv.conf, or nothing. */
  host: HostDnsState;
}

export class NodeDns {
  private readonly resolver: Resolver;
  private server: DnsServer | undefined;
  private error: string | undefined;
  private stopped = false;
  private readonly upstreams: string[];
  private readonly host: HostSystem;
  private hostState: HostDnsState;
  /** Settles when the resolver serves (or has failed to) and the host's DNS is configured. */
  ready: Promise<void> = Promise.resolve();

  constructor(private readonly options: NodeDnsOptions) {
    const cert = options.self.certificate;
    this.host = options.host ?? linuxHost;
    this.hostState = options.hostDns
      ? { mode: 'unchanged', why: 'the resolver is not serving yet' }
      : { mode: 'off' };
    this.repair();
    const upstreams = nameservers(readText(this.host.resolvConf));
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
      if (this.options.hostDns) this.hostState = { mode: 'unchanged', why: 'the resolver is not serving' };
      return;
    }
    if (this.options.hostDns) this.configureHost(cert.ipv4);
  }

  private configureHost(resolver: string): void {
    const { stateDir, interfaceName, log } = this.options;
    try {
      this.hostState = configureHostDns(
        stateDir,
        { interface: interfaceName, resolver, zone: this.resolver.zone },
        this.host,
      );
    } catch (e) {
      this.hostState = { mode: 'unchanged', why: (e as Error).message };
    }
    const h = this.hostState;
    log(
      h.mode === 'resolved'
        ? `names: systemd-resolved sends ${this.resolver.zone} to ${resolver} (split DNS on ${h.interface})`
        : h.mode === 'resolv.conf'
          ? `names: ${h.path} asks ${resolver} first, search ${this.resolver.zone}`
          : `names: the host's DNS is left as it is: ${h.mode === 'unchanged' ? h.why : 'up --no-dns'}`,
    );
  }

  /** Undoes what this node (or a crashed run of it) did to the host's DNS. */
  private repair(): void {
    try {
      const done = repairHostDns(this.options.stateDir, this.host);
      if (done) this.options.log(`names: ${done}`);
    } catch (e) {
      this.options.log(`names: could not undo the host's DNS settings: ${(e as Error).message}`);
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
      host: this.hostState,
    };
  }

  /** The resolver's counters, as `dns.NAME`. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [name, n] of Object.entries(this.resolver.counters())) out[`dns.${name}`] = n;
    if (this.server) out['dns.kernelDropped'] = this.server.kernelDropped();
    if (this.server?.faults) out['dns.faults'] = this.server.faults;
    if (this.server?.tcpRefused) out['dns.tcpRefused'] = this.server.tcpRefused;
    return out;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    // The host first: its lookups must not wait on a resolver that is going away.
    this.repair();
    this.hostState = this.options.hostDns ? { mode: 'unchanged', why: 'stopped' } : { mode: 'off' };
    this.server?.stop();
    this.server = undefined;
  }
}

/** What the names need of the node (OverlayNode): its settings, roster, interface and log. */
export interface NamedNode {
  readonly settings: NodeSettings;
  readonly roster: Roster;
  readonly interfaceName: string;
  self(now?: number): Member;
  log(line: string): void;
}

/** The names of a node that has just started: `dns` is `up --no-dns` (false) or unsaid. */
export function startNames(node: NamedNode, options: { stateDir: string; dns?: boolean }): NodeDns {
  const now = Date.now();
  const names = new NodeDns({
    stateDir: options.stateDir,
    network: node.settings.network,
    interfaceName: node.interfaceName,
    hostDns: options.dns ?? node.settings.dns,
    self: node.self(now),
    members: node.roster.members(now),
    log: (line) => node.log(line),
  });
  names.ready = names.start();
  return names;
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
function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
