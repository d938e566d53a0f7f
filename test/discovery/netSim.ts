/**
 * A simulated internet for discovery tests: hosts with addresses, LANs behind NAT routers, a clock and
 * an event queue. NATs follow RFC 4787's behaviours: endpoint-independent mapping (one public port per
 * socket, whatever the destination — Linux MASQUERADE without --random-fully) or endpoint-dependent
 * mapping (a random public port per destination, like MASQUERADE --random-fully); inbound packets pass
 * only from where the mapping has sent to (address-and-port-dependent filtering, like conntrack), or
 * from anywhere at that address (address-dependent), or from anywhere at all (endpoint-independent:
 * no filter). No hairpinning, as with a plain MASQUERADE rule.
 * Loss, link cuts (a DROP between two public addresses), and hosts that change address.
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
  lastUsed: number;
}

/** UDP mappings live this long without traffic (Linux conntrack's default for UDP is 30 s). */
export const MAPPING_TIMEOUT_MS = 30_000;

export class SimNat {
  private readonly mappings = new Map<string, NatMapping>();
  private readonly byPort = new Map<number, NatMapping>();
  private nextPort = 40_000;

  constructor(
    readonly name: string,
    readonly publicIp: string,
    readonly mapping: Mapping,
    readonly filtering: Filtering,
    private readonly random: () => number,
  ) {}

  /** The public source port for a packet from `internal` to `dest`. */
  outbound(internal: string, dest: string, now: number): number {
    const key = this.mapping === 'endpoint-independent' ? internal : `${internal}>${dest}`;
    let m = this.mappings.get(key);
    if (m !== undefined && now - m.lastUsed > MAPPING_TIMEOUT_MS) {
      this.mappings.delete(key);
      this.byPort.delete(m.externalPort);
      m = undefined;
    }
    if (m === undefined) {
      const externalPort = this.mapping === 'endpoint-independent' ? this.nextPort++ : this.randomPort();
      m = { internal, externalPort, allowed: new Set(), lastUsed: now };
      this.mappings.set(key, m);
      this.byPort.set(externalPort, m);
    }
    m.allowed.add(this.filterKey(dest));
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
  }

  /** The internal endpoint a packet from `source` to our public `port` goes to, if the NAT lets it in. */
  inbound(port: number, source: string, now: number): string | undefined {
    const m = this.byPort.get(port);
    if (m === undefined || now - m.lastUsed > MAPPING_TIMEOUT_MS) return undefined;
    if (this.filtering !== 'endpoint-independent' && !m.allowed.has(this.filterKey(source))) return undefined;
    m.lastUsed = now;
    return m.internal;
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
  ): SimNat {
    const nat = new SimNat(name, publicIp, mapping, filtering, this.options.random);
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

  /** Sends a UDP datagram from `host`'s socket to `dest` ("ip:port"); false when it is dropped on the way out. */
  send(host: SimHost, dest: string, bytes: Uint8Array): boolean {
    if (this.options.random() < this.loss) return this.drop();
    const src = `${host.ip}:${host.port}`;
    const destIp = dest.slice(0, dest.lastIndexOf(':'));
    const lanPeer = host.nat && this.hostBound(dest, host.nat);
    if (lanPeer) return this.deliver(lanPeer, src, bytes, this.options.lanLatencyMs ?? 1);
    let publicSrc = src;
    if (host.nat) {
      // Nothing behind another NAT is routable from here, and our own NAT does not hairpin.
      if (destIp === host.nat.publicIp || !this.isPublic(destIp)) return this.drop();
      publicSrc = `${host.nat.publicIp}:${host.nat.outbound(src, dest, this.now)}`;
    }
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

  private isPublic(ip: string): boolean {
    return (
      this.nats.some((n) => n.publicIp === ip) || [...this.hosts.values()].some((h) => !h.nat && h.ip === ip)
    );
  }
}
