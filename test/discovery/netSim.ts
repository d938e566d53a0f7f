/**
 * A simulated internet for discovery tests: hosts with addresses, LANs behind NAT routers, a clock and
 * an event queue. NATs follow RFC 4787's behaviours: endpoint-independent mapping (one public port per
 * socket, whatever the destination — Linux MASQUERADE without --random-fully) or endpoint-dependent
 * mapping (a random public port per destination, like MASQUERADE --random-fully); inbound packets pass
 * only from where the mapping has sent to (address-and-port-dependent filtering, like conntrack), or
 * from anywhere at that address (address-dependent), or from anywhere at all (endpoint-independent:
 * no filter). No hairpinning, as with a plain MASQUERADE rule.
 * A NAT has a firewall (unsolicited packets dropped, leaving no state) unless made with
 * `firewall: false`: then it is a plain MASQUERADE, and an unsolicited packet leaves an unreplied
 * entry for its pair of addresses, as conntrack does; a new flow out of the NAT that would need that
 * pair is given another, random, public port (the tuple is taken; issue 13, point 1).
 * Loss, link cuts (a DROP between two public addresses), and hosts that change address. A datagram
 * sent with a TTL loses one at the sender's NAT and one at the internet's router between any two
 * public addresses: it needs a TTL of 2 to pass a NAT, and 3 to reach the far side from behind one.
 *
 * Time is simulated (runUntil drives the queue: protocol machines with explicit time) or real
 * (`clock: 'real'`: each event is a timer, for whole nodes that read Date.now and set their own
 * timers; close() clears what is pending so the test process can exit).
 */

export type Mapping = 'endpoint-independent' | 'endpoint-dependent';
/** 'endpoint-independent': no filter, whatever comes to a mapped port gets in (a "full cone"). */
export type Filtering = 'endpoint-independent' | 'address' | 'address-and-port';

export interface SimHost {
  readonly name: string;
  ip: string;
  readonly port: number;
  readonly nat: SimNat | undefined;
  /** Called with each datagram that reaches this host, and its source as the host sees it. */
  receive: (bytes: Uint8Array, from: string) => void;
}

interface NatMapping {
  readonly internal: string;
  readonly externalPort: number;
  /** Remote addresses (filtering 'address') or endpoints ('address-and-port') allowed back in. */
  readonly allowed: Set<string>;
  /** The remote endpoints it has sent to: a packet to one of them is no new flow. */
  readonly flows: Set<string>;
  lastUsed: number;
}

/** A flow that a NAT without a firewall gave another port: its tuple was taken. */
interface Detour {
  readonly internal: string;
  readonly port: number;
  lastUsed: number;
}

/** UDP mappings live this long without traffic (Linux conntrack's default for UDP is 30 s). */
export const MAPPING_TIMEOUT_MS = 30_000;

export class SimNat {
  private readonly mappings = new Map<string, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();
  private nextPort = 40_000;
  /** No firewall: "remote|our port" of unsolicited packets taken in by the router, as unreplied entries. */
  private readonly unreplied = new Map<string, number>();
  /** No firewall: flows given another port, by "internal>remote" and by "remote|port". */
  private readonly detours = new Map<string, Detour>();
  private readonly byDetour = new Map<string, Detour>();
  /** Flows given another port because their tuple was taken (no firewall)... */
  tuplesTaken = 0;
  /** ...by where each went. */
  readonly takenToward: string[] = [];

  constructor(
    readonly name: string,
    readonly publicIp: string,
    readonly mapping: Mapping,
    readonly filtering: Filtering,
    private readonly random: () => number,
    readonly firewall = true,
    /** An endpoint-independent mapping keeps the socket's own port when free (Linux MASQUERADE). */
    readonly keepPort = false,
  ) {}

  /** The public source port for a packet from `internal` to `dest`. */
  outbound(internal: string, dest: string, now: number): number {
    if (this.firewall) return this.mapped(internal, dest, now, true);
    const flow = `${internal}>${dest}`;
    const detour = this.detours.get(flow);
    if (detour !== undefined && now - detour.lastUsed <= MAPPING_TIMEOUT_MS) {
      detour.lastUsed = now;
      return detour.port;
    }
    const port = this.mapped(internal, dest, now, false);
    const m = this.byPort.get(port)!;
    const seen = this.unreplied.get(`${dest}|${port}`);
    // A new flow whose pair of addresses an unreplied entry holds: another port, at random.
    if (!m.flows.has(dest) && seen !== undefined && now - seen <= MAPPING_TIMEOUT_MS) {
      const taken: Detour = { internal, port: this.randomPort(), lastUsed: now };
      this.tuplesTaken++;
      this.takenToward.push(dest);
      this.detours.set(flow, taken);
      this.byDetour.set(`${dest}|${taken.port}`, taken);
      return taken.port;
    }
    m.flows.add(dest);
    m.allowed.add(this.filterKey(dest));
    return port;
  }

  /** The mapping's public port for `internal` (to `dest`), made or refreshed; `allow` lets `dest` in. */
  private mapped(internal: string, dest: string, now: number, allow: boolean): number {
    const key = this.mapping === 'endpoint-independent' ? internal : `${internal}>${dest}`;
    let m = this.mappings.get(key);
    if (m !== undefined && now - m.lastUsed > MAPPING_TIMEOUT_MS) {
      this.mappings.delete(key);
      this.byPort.delete(m.externalPort);
      m = undefined;
    }
    if (m === undefined) {
      const own = Number(internal.slice(internal.lastIndexOf(':') + 1));
      const externalPort =
        this.mapping !== 'endpoint-independent'
          ? this.randomPort()
          : this.keepPort && !this.byPort.has(own)
            ? own
            : this.nextPort++;
      m = { internal, externalPort, allowed: new Set(), flows: new Set(), lastUsed: now };
      this.mappings.set(key, m);
      this.byPort.set(externalPort, m);
    }
    if (allow) m.allowed.add(this.filterKey(dest));
    m.lastUsed = now;
    return m.externalPort;
  }

  /**
   * The router forgets every mapping (it rebooted, or its table was flushed): the next packet out
   * of each socket gets a new public port, as a NAT rebinding does.
   */
  forgetMappings(): void {
    this.mappings.clear();
    this.byPort.clear();
    this.unreplied.clear();
    this.detours.clear();
    this.byDetour.clear();
  }

  /** The internal endpoint a packet from `source` to our public `port` goes to, if the NAT lets it in. */
  inbound(port: number, source: string, now: number): string | undefined {
    const pair = `${source}|${port}`;
    const detour = this.byDetour.get(pair);
    if (detour !== undefined && now - detour.lastUsed <= MAPPING_TIMEOUT_MS) {
      detour.lastUsed = now;
      return detour.internal;
    }
    const m = this.byPort.get(port);
    const seen = this.unreplied.get(pair);
    const open =
      m !== undefined &&
      now - m.lastUsed <= MAPPING_TIMEOUT_MS &&
      (this.filtering === 'endpoint-independent' || m.allowed.has(this.filterKey(source))) &&
      (seen === undefined || now - seen > MAPPING_TIMEOUT_MS);
    if (open) {
      m.lastUsed = now;
      return m.internal;
    }
    // Without a firewall, conntrack keeps what it could not match, for the router itself: each
    // such packet refreshes an entry that holds this pair from any flow out.
    if (!this.firewall) this.unreplied.set(pair, now);
    return undefined;
  }

  private filterKey(remote: string): string {
    return this.filtering === 'address' ? remote.slice(0, remote.lastIndexOf(':')) : remote;
  }

  private randomPort(): number {
    for (;;) {
      const p = 1024 + Math.floor(this.random() * 64_000);
      if (!this.byPort.has(p)) return p;
    }
  }
}

export interface NetOptions {
  readonly random: () => number;
  /** One-way latency on a LAN, and across the internet between two public addresses. */
  readonly lanLatencyMs?: number;
  readonly internetLatencyMs?: number;
  /** Up to this much more, at random, on every internet datagram: RTTs that jitter. */
  readonly jitterMs?: number;
  /** Probability that any datagram is lost. */
  readonly loss?: number;
  /** 'simulated' (default): runUntil moves time. 'real': events fire on timers, `now` is wall time. */
  readonly clock?: 'simulated' | 'real';
}

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class SimNet {
  private simulatedNow = 0;
  private readonly realStart = performance.now();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly queue: Scheduled[] = [];
  private seq = 0;
  private readonly hosts = new Map<string, SimHost>();
  /** "NAT|ip:port" → the host last found there: a cache, checked on every use (hosts move). */
  private readonly found = new Map<string, SimHost>();
  private readonly nats: SimNat[] = [];
  private readonly cuts = new Set<string>();
  loss: number;
  delivered = 0;
  deliveredBytes = 0;
  dropped = 0;
  expired = 0;

  constructor(private readonly options: NetOptions) {
    this.loss = options.loss ?? 0;
  }

  /** Milliseconds since the simulation began. */
  get now(): number {
    return this.options.clock === 'real' ? performance.now() - this.realStart : this.simulatedNow;
  }

  /** Real clock: cancels every datagram still on its way. */
  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  addNat(
    name: string,
    publicIp: string,
    mapping: Mapping,
    filtering: Filtering = 'address-and-port',
    options: { firewall?: boolean; keepPort?: boolean } = {},
  ): SimNat {
    const nat = new SimNat(
      name,
      publicIp,
      mapping,
      filtering,
      this.options.random,
      options.firewall ?? true,
      options.keepPort ?? false,
    );
    this.nats.push(nat);
    return nat;
  }

  addHost(name: string, ip: string, port: number, nat?: SimNat): SimHost {
    const host: SimHost = { name, ip, port, nat, receive: () => {} };
    this.hosts.set(name, host);
    return host;
  }

  /** The host (socket) bound at ip:port, behind `nat` (undefined: a public address), if any. */
  hostAt(ip: string, port: number, nat: SimNat | undefined): SimHost | undefined {
    return this.hostBound(`${ip}:${port}`, nat);
  }

  // A scan of every host per datagram would make a simulation of N nodes cost N³.
  private hostBound(address: string, nat: SimNat | undefined): SimHost | undefined {
    const key = `${nat?.name ?? ''}|${address}`;
    const cached = this.found.get(key);
    const bound = (h: SimHost) =>
      h.nat === nat && `${h.ip}:${h.port}` === address && this.hosts.get(h.name) === h;
    if (cached && bound(cached)) return cached;
    for (const h of this.hosts.values()) {
      if (!bound(h)) continue;
      this.found.set(key, h);
      return h;
    }
    this.found.delete(key);
    return undefined;
  }

  /** The socket is closed: datagrams to it are lost from now on. */
  removeHost(host: SimHost): void {
    if (this.hosts.get(host.name) === host) this.hosts.delete(host.name);
  }

  /** iptables DROP between two public addresses (both directions), as on one NAT router. */
  cut(ipA: string, ipB: string): void {
    this.cuts.add([ipA, ipB].sort().join(' '));
  }

  restore(ipA: string, ipB: string): void {
    this.cuts.delete([ipA, ipB].sort().join(' '));
  }

  at(time: number, run: () => void): void {
    if (this.options.clock === 'real') {
      const timer = setTimeout(
        () => {
          this.timers.delete(timer);
          run();
        },
        Math.max(0, time - this.now),
      );
      this.timers.add(timer);
      return;
    }
    const item = { at: Math.max(time, this.now), seq: this.seq++, run };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const q = this.queue[mid]!;
      if (q.at < item.at || (q.at === item.at && q.seq < item.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, item);
  }

  /** Runs events until `until` (simulated ms); bounded so a bug cannot spin forever. */
  runUntil(until: number, maxEvents = 5_000_000): void {
    if (this.options.clock === 'real') throw new Error('a real-clock network runs on its own timers');
    let n = 0;
    while (this.queue.length > 0 && this.queue[0]!.at <= until) {
      if (++n > maxEvents) throw new Error(`simulation did not settle by ${until} ms`);
      const item = this.queue.shift()!;
      this.simulatedNow = item.at;
      item.run();
    }
    this.simulatedNow = until;
  }

  /**
   * Sends a UDP datagram from `host`'s socket to `dest` ("ip:port"), with IP TTL `ttl` if given;
   * false when it is dropped on the way out (one that dies on the way is counted in `expired`).
   */
  send(host: SimHost, dest: string, bytes: Uint8Array, ttl = 64): boolean {
    if (this.options.random() < this.loss) return this.drop();
    const src = `${host.ip}:${host.port}`;
    const destIp = dest.slice(0, dest.lastIndexOf(':'));
    const lanPeer = host.nat && this.hostBound(dest, host.nat);
    if (lanPeer) return this.deliver(lanPeer, src, bytes, this.options.lanLatencyMs ?? 1);
    let publicSrc = src;
    let hops = ttl;
    if (host.nat) {
      // Nothing behind another NAT is routable from here, and our own NAT does not hairpin.
      if (destIp === host.nat.publicIp || !this.isPublic(destIp)) return this.drop();
      // A router forwards only what has a TTL left after its own (Linux drops it before the NAT).
      if (hops-- <= 1) return this.expire();
      publicSrc = `${host.nat.publicIp}:${host.nat.outbound(src, dest, this.now)}`;
    }
    if (hops <= 1) return this.expire();
    const publicSrcIp = publicSrc.slice(0, publicSrc.lastIndexOf(':'));
    if (this.cuts.has([publicSrcIp, destIp].sort().join(' '))) return this.drop();
    const jitter = this.options.jitterMs ? this.options.random() * this.options.jitterMs : 0;
    const latency = (this.options.internetLatencyMs ?? 20) + jitter;
    const target = this.hostBound(dest, undefined);
    if (target) return this.deliver(target, publicSrc, bytes, latency);
    const nat = this.nats.find((n) => n.publicIp === destIp);
    if (!nat) return this.drop();
    // The NAT's decision is made when the packet arrives there, not when it leaves.
    this.at(this.now + latency, () => {
      const internal = nat.inbound(Number(dest.slice(dest.lastIndexOf(':') + 1)), publicSrc, this.now);
      const inside = internal && this.hostBound(internal, nat);
      if (!inside) {
        this.drop();
        return;
      }
      this.delivered++;
      this.deliveredBytes += bytes.length;
      inside.receive(bytes, publicSrc);
    });
    return true;
  }

  private deliver(host: SimHost, from: string, bytes: Uint8Array, latency: number): true {
    const ip = host.ip;
    this.at(this.now + latency, () => {
      // A host that moved meanwhile no longer owns the address the packet was sent to.
      if (host.ip !== ip || this.hosts.get(host.name) !== host) {
        this.drop();
        return;
      }
      this.delivered++;
      this.deliveredBytes += bytes.length;
      host.receive(bytes, from);
    });
    return true;
  }

  private drop(): false {
    this.dropped++;
    return false;
  }

  /** A datagram whose TTL ran out on a router: sent, and never arrives. */
  private expire(): true {
    this.expired++;
    return true;
  }

  private isPublic(ip: string): boolean {
    return (
      this.nats.some((n) => n.publicIp === ip) || [...this.hosts.values()].some((h) => !h.nat && h.ip === ip)
    );
  }
}
