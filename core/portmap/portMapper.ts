/**
 * The node's port mapping: asks the default gateway to forward the node's UDP port, over every
 * protocol at once, and keeps the best mapping alive while the node runs (issue 13, point 2).
 *
 * Preference PCP > NAT-PMP > UPnP IGD. PCP answers carry our request's random nonce, so another
 * host on the LAN cannot forge one it has not seen, and it states lifetimes, result codes and an
 * epoch; NAT-PMP is its simpler predecessor on the same port with the same epoch but no nonce;
 * UPnP needs HTTP and SOAP, is found by a multicast search any LAN host may answer, and has no epoch
 * to tell a router restart. The first to map is used at once; a better one that maps later takes
 * over and the worse ones stop (a router's protocols share one table, so the taken-over mapping is
 * deleted only when it holds another external port).
 *
 * Sockets: one UDP socket per protocol toward gateway:5351 (an answer reaches the machine that
 * asked, so a NAT-PMP-only router's "unsupported version" to PCP is not read as NAT-PMP's), the
 * announcement group 224.0.0.1:5350 (best effort), and UPnP's search and HTTP. Only the gateway's
 * datagrams are read; the rest is counted as junk.
 */
import { randomBytes } from 'node:crypto';
import {
  MIN_RENEW_MS,
  NAT_PMP_PCP_SERVER_PORT,
  PCP_ANNOUNCE_GROUP,
  PCP_CLIENT_PORT,
  REQUESTED_LIFETIME_S,
  RETRY_AFTER_FAILURE_MS,
} from './constants.js';
import { nativePortMapIo, type PortMapIo, type PortMapSocket } from './portMapIo.js';
import { type MachineStep, UdpMapping } from './udpMapping.js';
import { UpnpClient, type UpnpMapping } from './upnpClient.js';

/** How long `down` waits for the router to take a deletion (UPnP's is an HTTP exchange). */
const RELEASE_WAIT_MS = 1500;

export type PortMapProtocol = 'pcp' | 'nat-pmp' | 'upnp';
export const PORT_MAP_PROTOCOLS: readonly PortMapProtocol[] = ['pcp', 'nat-pmp', 'upnp'];
/** `up --port-mapping`: every protocol (auto), none (off), or only one. */
export type PortMappingMode = 'auto' | 'off' | PortMapProtocol;
export const PORT_MAPPING_MODES: readonly PortMappingMode[] = ['auto', 'off', ...PORT_MAP_PROTOCOLS];

export function isPortMappingMode(value: unknown): value is PortMappingMode {
  return (PORT_MAPPING_MODES as readonly unknown[]).includes(value);
}

/**
 * The node's port mapper for `mode`, or undefined for off or a machine without port-mapping I/O
 * (the in-memory twins, unless a test gives them a router). OVERLAY_PORT_MAPPING, when set, stands
 * in for auto on the machine's own network: the test runner sets it to off so no test run in the
 * host's namespace ever asks the machine's real gateway; tests that want mapping say so with
 * --port-mapping (and a fake router is no real gateway).
 */
export function portMapperFor(
  mode: PortMappingMode | undefined,
  io: PortMapIo | undefined,
  port: number,
  changed: () => void,
  log: (line: string) => void,
): PortMapper | undefined {
  const env = process.env['OVERLAY_PORT_MAPPING'];
  const real = io === nativePortMapIo;
  const m = real && (mode ?? 'auto') === 'auto' && isPortMappingMode(env) ? env : (mode ?? 'auto');
  if (m === 'off' || !io) return undefined;
  const protocols = m === 'auto' ? PORT_MAP_PROTOCOLS : [m];
  const mapper = new PortMapper({ io, port, protocols, changed, log });
  mapper.checkNetwork();
  return mapper;
}

export interface PortMappingStatus {
  gateway: string | null;
  /** The mapping in use: which protocol forwards which external endpoint to our UDP port. */
  mapped: { protocol: PortMapProtocol; external: string; internalPort: number; leaseS: number } | null;
  /** What each protocol tried gave: "mapped ...", "asking", "failed: why", "not used". */
  protocols: { protocol: PortMapProtocol; state: string }[];
  /** Datagrams and answers that were not from the gateway or not ours. */
  junk: number;
}

export interface PortMapperOptions {
  readonly io: PortMapIo;
  /** The node's UDP listen port. */
  readonly port: number;
  /** Protocols to try (tests pick one); all three by default. */
  readonly protocols?: readonly PortMapProtocol[];
  /** The mapping in use changed (new, gone, another address): announce it. */
  changed(): void;
  log(line: string): void;
}

interface Result {
  external: string;
  leaseS: number;
}

export class PortMapper {
  private session: Session | undefined;
  private stopped = false;

  constructor(private readonly o: PortMapperOptions) {}

  /** Looks at the default route: a new gateway (or the first) starts mapping there afresh. */
  checkNetwork(): void {
    if (this.stopped) return;
    const route = this.o.io.defaultRoute();
    if (this.session && route?.gateway === this.session.gateway) return;
    const had = this.session?.chosen();
    void this.session?.end(false);
    this.session = route ? new Session(this.o, route.gateway) : undefined;
    if (route) this.o.log(`port mapping: asking ${route.gateway} (${this.protocols().join(', ')})`);
    if (had) this.o.changed();
  }

  /** External endpoints to announce: the mapping in use, if any. */
  get mapped(): string[] {
    const c = this.session?.chosen();
    return c ? [c.result.external] : [];
  }

  status(): PortMappingStatus {
    const s = this.session;
    const c = s?.chosen();
    return {
      gateway: s?.gateway ?? null,
      mapped: c
        ? {
            protocol: c.protocol,
            external: c.result.external,
            internalPort: this.o.port,
            leaseS: c.result.leaseS,
          }
        : null,
      protocols: this.protocols().map((protocol) => ({
        protocol,
        state: s?.stateOf(protocol) ?? 'no gateway',
      })),
      junk: s?.junk() ?? 0,
    };
  }

  /** Releases the mapping (down) and closes every socket; waits at most RELEASE_WAIT_MS for the router. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.session?.end(true),
      new Promise((resolve) => {
        timer = setTimeout(resolve, RELEASE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
  }

  private protocols(): readonly PortMapProtocol[] {
    return this.o.protocols ?? PORT_MAP_PROTOCOLS;
  }
}

/** Mapping at one gateway, every protocol at once. */
class Session {
  private readonly results = new Map<PortMapProtocol, Result>();
  private readonly states = new Map<PortMapProtocol, string>();
  private readonly machines = new Map<
    'pcp' | 'nat-pmp',
    { m: UdpMapping; sock: PortMapSocket; timer?: NodeJS.Timeout }
  >();
  private readonly retired = new Set<PortMapProtocol>();
  private announceSock: PortMapSocket | undefined;
  private upnp: { client: UpnpClient; mapping?: UpnpMapping; timer?: NodeJS.Timeout } | undefined;
  private ended = false;
  private announceJunk = 0;
  private lastChosen: string | undefined;

  constructor(
    private readonly o: PortMapperOptions,
    readonly gateway: string,
  ) {
    for (const p of o.protocols ?? PORT_MAP_PROTOCOLS) this.states.set(p, 'asking');
    void this.open().catch((e) => this.o.log(`port mapping: ${e instanceof Error ? e.message : e}`));
  }

  chosen(): { protocol: PortMapProtocol; result: Result } | undefined {
    for (const protocol of PORT_MAP_PROTOCOLS) {
      const result = this.results.get(protocol);
      if (result) return { protocol, result };
    }
    return undefined;
  }

  stateOf(p: PortMapProtocol): string {
    return this.retired.has(p) ? 'not used: a better one mapped' : (this.states.get(p) ?? 'asking');
  }

  junk(): number {
    let n = this.announceJunk + (this.upnp?.client.junk ?? 0);
    for (const { m } of this.machines.values()) n += m.junk;
    return n;
  }

  async end(release: boolean): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    const waits: Promise<unknown>[] = [];
    for (const { m, sock, timer } of this.machines.values()) {
      clearTimeout(timer);
      if (release) for (const d of m.release().send) sock.send(d, this.gateway, NAT_PMP_PCP_SERVER_PORT);
      // Let the delete leave before the socket closes.
      waits.push(new Promise((r) => setTimeout(r, 20)).then(() => sock.close()));
    }
    this.announceSock?.close();
    if (this.upnp) {
      clearTimeout(this.upnp.timer);
      const m = this.upnp.mapping;
      if (release && m) waits.push(this.upnp.client.unmap(m).catch(() => undefined));
    }
    this.results.clear();
    await Promise.all(waits);
  }

  private async open(): Promise<void> {
    const wanted = this.o.protocols ?? PORT_MAP_PROTOCOLS;
    const toward = { address: this.gateway, port: NAT_PMP_PCP_SERVER_PORT };
    let localAddress: string | undefined;
    for (const protocol of ['pcp', 'nat-pmp'] as const) {
      if (!wanted.includes(protocol)) continue;
      const sock = await this.o.io.openUdp(
        { toward, ...(localAddress && { localAddress }) },
        (data, from) => {
          const held = this.machines.get(protocol);
          if (!held) return;
          if (from.address !== this.gateway || from.port !== NAT_PMP_PCP_SERVER_PORT) held.m.junk++;
          else this.apply(protocol, held.m.receive(data, Date.now()));
        },
      );
      localAddress = sock.localAddress;
      if (this.ended) return sock.close();
      const m = new UdpMapping({
        protocol,
        internalPort: this.o.port,
        clientIp: sock.localAddress,
        nonce: randomBytes(12),
      });
      this.machines.set(protocol, { m, sock });
      this.apply(protocol, m.start(Date.now()));
    }
    const bound = localAddress as string | undefined;
    if (bound !== undefined && !this.ended) await this.listenForAnnouncements(bound);
    if (wanted.includes('upnp') && !this.ended) {
      let local = bound;
      if (local === undefined) {
        const probe = await this.o.io.openUdp({ toward }, () => {});
        probe.close();
        local = probe.localAddress;
      }
      this.upnp = { client: new UpnpClient(this.o.io, this.gateway, local) };
      void this.upnpLoop();
    }
  }

  /** RFC 6887 §14.1 / RFC 6886 §3.2.1: a restarted router says so to 224.0.0.1:5350. */
  private async listenForAnnouncements(localAddress: string): Promise<void> {
    try {
      this.announceSock = await this.o.io.openUdp(
        { localAddress, port: PCP_CLIENT_PORT, joinGroup: PCP_ANNOUNCE_GROUP },
        (data, from) => {
          if (from.address !== this.gateway) {
            this.announceJunk++;
            return;
          }
          const protocol = data[0] === 2 ? 'pcp' : 'nat-pmp';
          const held = this.machines.get(protocol);
          if (held) this.apply(protocol, held.m.receive(data, Date.now()));
        },
      );
      if (this.ended) this.announceSock.close();
    } catch (e) {
      // Another program holds 5350: renewals still find a restart from the epoch, only later.
      this.o.log(
        `port mapping: not listening for router announcements (${e instanceof Error ? e.message : e})`,
      );
    }
  }

  private apply(protocol: 'pcp' | 'nat-pmp', step: MachineStep): void {
    const held = this.machines.get(protocol);
    if (!held || this.ended) return;
    for (const d of step.send) held.sock.send(d, this.gateway, NAT_PMP_PCP_SERVER_PORT);
    for (const e of step.events) {
      if (e.kind === 'mapped') this.noteResult(protocol, { external: e.external, leaseS: e.lifetimeS });
      else this.noteFailure(protocol, e.kind === 'lost' ? `lost: ${e.reason}` : `failed: ${e.reason}`);
    }
    clearTimeout(held.timer);
    if (step.nextAt !== undefined && !this.retired.has(protocol)) {
      held.timer = setTimeout(
        () => this.apply(protocol, held.m.tick(Date.now())),
        Math.max(0, step.nextAt - Date.now()),
      );
    }
  }

  private async upnpLoop(): Promise<void> {
    const u = this.upnp;
    if (!u || this.ended || this.retired.has('upnp')) return;
    let next = RETRY_AFTER_FAILURE_MS;
    try {
      const service = await u.client.discover();
      if (!service) this.noteFailure('upnp', 'failed: no gateway device answered');
      else {
        const m = await u.client.map(service, this.o.port, REQUESTED_LIFETIME_S);
        if (this.ended || this.retired.has('upnp')) return;
        if (typeof m === 'string') this.noteFailure('upnp', `failed: ${m}`);
        else {
          u.mapping = m;
          this.noteResult('upnp', { external: m.external, leaseS: m.leaseS });
          next = Math.max(((m.leaseS || REQUESTED_LIFETIME_S) * 1000) / 2, MIN_RENEW_MS);
        }
      }
    } catch (e) {
      this.noteFailure('upnp', `failed: ${e instanceof Error ? e.message : e}`);
    }
    if (!this.ended) u.timer = setTimeout(() => void this.upnpLoop(), next);
  }

  private noteResult(protocol: PortMapProtocol, r: Result): void {
    this.results.set(protocol, r);
    this.states.set(protocol, `mapped ${r.external}`);
    const chosen = this.chosen()!;
    // Worse protocols stop: their mapping is the router's one table entry too, or a spare.
    for (const worse of PORT_MAP_PROTOCOLS.slice(PORT_MAP_PROTOCOLS.indexOf(chosen.protocol) + 1))
      this.retire(worse, chosen.result);
    this.maybeChanged();
  }

  private noteFailure(protocol: PortMapProtocol, state: string): void {
    this.states.set(protocol, state);
    const wasChosen = this.chosen()?.protocol === protocol;
    this.results.delete(protocol);
    if (wasChosen && this.retired.size > 0) {
      // The one in use is gone: the others may still work.
      const back = [...this.retired];
      this.retired.clear();
      for (const p of back) this.restart(p);
    }
    this.maybeChanged();
  }

  private retire(protocol: PortMapProtocol, kept: Result): void {
    if (this.retired.has(protocol) || !this.states.has(protocol)) return;
    this.retired.add(protocol);
    const had = this.results.get(protocol);
    this.results.delete(protocol);
    if (protocol === 'upnp') {
      clearTimeout(this.upnp?.timer);
      const m = this.upnp?.mapping;
      if (m && m.external !== kept.external) void this.upnp?.client.unmap(m).catch(() => undefined);
      if (this.upnp) this.upnp.mapping = undefined;
      return;
    }
    const held = this.machines.get(protocol);
    if (!held) return;
    clearTimeout(held.timer);
    const del = held.m.release().send;
    if (had && had.external !== kept.external)
      for (const d of del) held.sock.send(d, this.gateway, NAT_PMP_PCP_SERVER_PORT);
  }

  private restart(protocol: PortMapProtocol): void {
    this.states.set(protocol, 'asking');
    if (protocol === 'upnp') {
      void this.upnpLoop();
      return;
    }
    const held = this.machines.get(protocol);
    if (!held) return;
    held.m = new UdpMapping({
      protocol,
      internalPort: this.o.port,
      clientIp: held.sock.localAddress,
      nonce: randomBytes(12),
    });
    this.apply(protocol, held.m.start(Date.now()));
  }

  private maybeChanged(): void {
    const c = this.chosen();
    const key = c ? `${c.protocol} ${c.result.external}` : undefined;
    if (key === this.lastChosen) return;
    this.lastChosen = key;
    this.o.log(
      c
        ? `port mapping: ${c.protocol} maps ${c.result.external} to UDP ${this.o.port}`
        : 'port mapping: none',
    );
    this.o.changed();
  }
}
