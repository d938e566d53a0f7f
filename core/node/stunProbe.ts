/**
 * The node's side of --stun: resolves the servers the user named, runs core/stun's client over
 * the WireGuard port (so the address a server reports is the one peers must punch to), and hands
 * each answer to discovery as a reflexive candidate. Pure decisions stay in core/stun.
 */
import { lookup } from 'node:dns/promises';
import { canonicalEndpoint, type Endpoint, formatEndpoint } from '../base/endpoint.js';
import { StunClient, type StunOutput } from '../stun/index.js';

/** A name that does not resolve is looked up again this often. */
const RESOLVE_RETRY_MS = 30_000;

export interface StunProbeHooks {
  send(datagram: Uint8Array, to: Endpoint): void;
  /** `server` (resolved endpoint) sees this node at `endpoint`; called on every answer, not just changes. */
  reflexive(server: Endpoint, endpoint: Endpoint): void;
  log(line: string): void;
}

export interface StunServerStatus {
  /** As the user gave it (HOST:PORT). */
  server: string;
  /** The endpoint it resolved to; null while it does not resolve. */
  resolved: string | null;
  /** This node's endpoint as the server last saw it; null before an answer or after it stopped answering. */
  reflexive: string | null;
}

export class StunProbe {
  private client: StunClient | undefined;
  private readonly resolved = new Map<string, string>();
  /** How many resolved endpoints the client was started with. */
  private asked = 0;
  private timer: NodeJS.Timeout | undefined;
  private resolveTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly servers: readonly string[],
    private readonly hooks: StunProbeHooks,
  ) {}

  /** Resolves the servers (names too) and starts asking them; names that fail are retried. */
  async start(): Promise<void> {
    const failed: string[] = [];
    for (const server of this.servers) {
      if (this.resolved.has(server)) continue;
      const endpoint = await resolveServer(server);
      if (endpoint) this.resolved.set(server, endpoint);
      else failed.push(server);
    }
    if (this.stopped) return;
    for (const server of failed) this.hooks.log(`stun: cannot resolve ${server}; trying again in 30 s`);
    if (failed.length > 0) this.resolveTimer = setTimeout(() => void this.start(), RESOLVE_RETRY_MS);
    const endpoints = [...new Set(this.resolved.values())];
    if (endpoints.length === 0 || endpoints.length === this.asked) return;
    // A server that resolved late joins the others: the client starts over with all of them.
    this.asked = endpoints.length;
    this.client = new StunClient({ servers: endpoints });
    this.apply(this.client.start(Date.now()));
  }

  /** A STUN datagram that arrived on the WireGuard port from `from`. */
  receive(datagram: Uint8Array, from: Endpoint): void {
    if (!this.client || this.stopped) return;
    const dropped = droppedCount(this.client);
    this.apply(this.client.receive(datagram, from, Date.now()));
    // Each answer keeps that server's candidate fresh in discovery, which forgets unconfirmed ones.
    const seen = this.client.seenBy(from);
    if (seen !== undefined && droppedCount(this.client) === dropped) this.hooks.reflexive(from, seen);
  }

  status(): StunServerStatus[] {
    const current = this.client?.current() ?? new Map<string, string>();
    return this.servers.map((server) => {
      const resolved = this.resolved.get(server) ?? null;
      return { server, resolved, reflexive: (resolved && current.get(resolved)) ?? null };
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.resolveTimer) clearTimeout(this.resolveTimer);
  }

  private apply(out: StunOutput): void {
    if (this.stopped || !this.client) return;
    for (const s of out.send) this.hooks.send(s.datagram, s.to);
    for (const e of out.events) {
      if (e.type === 'reflexive') this.hooks.log(`stun: ${e.server} sees this node at ${e.endpoint}`);
      else this.hooks.log(`stun: ${e.server} does not answer`);
    }
    if (this.timer) clearTimeout(this.timer);
    const delay = out.nextWakeAt - Date.now();
    if (Number.isFinite(delay)) {
      this.timer = setTimeout(() => this.apply(this.client!.tick(Date.now())), Math.max(20, delay));
    }
  }
}

function droppedCount(client: StunClient): number {
  const d = client.ignored();
  return d.undecodable + d.unknownSource + d.wrongTxid;
}

/** HOST:PORT (an IP, [IPv6], or a DNS name) to a canonical endpoint, IPv4 preferred; undefined if it does not resolve. */
async function resolveServer(server: string): Promise<string | undefined> {
  const literal = canonicalEndpoint(server);
  if (literal) return literal;
  const at = server.lastIndexOf(':');
  const host = server.slice(0, at);
  const port = server.slice(at + 1);
  try {
    const addresses = await lookup(host, { all: true });
    const best = addresses.find((a) => a.family === 4) ?? addresses[0];
    if (!best) return undefined;
    return canonicalEndpoint(formatEndpoint({ address: best.address, port: Number(port) }));
  } catch {
    return undefined;
  }
}
