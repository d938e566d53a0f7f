/**
 * Discovery for one node, as a pure state machine: our own candidates, one PeerPath per member, and
 * the introductions we ask for and make. The node feeds it the discovery messages it opened (sealed,
 * so `from` is an authenticated member) with where they came from, and the time; it carries out the
 * sends, moves each peer's traffic where `path(peer)` says, and shows `snapshot`.
 *
 * Introductions and call-me-maybes are where another member tells us where to send probes: the first
 * are taken only when asked for (introductions.ts), and the addresses either names are probed within
 * that member's budget (probeBudget.ts), so no member can aim our probes at a machine of its choosing.
 *
 * A send with `via` travels through a relay member: the node seals `message` for `to` and hands it
 * to its data path, which sends it in a relay envelope through `via` — the same envelopes, keys and
 * relay that carry the traffic on that route, so a route whose envelopes are lost (a relay that
 * restarted, say) loses its probes too and is seen dead (issue 10). Relaying itself is the data
 * path's alone: discovery forwards nothing for anyone.
 */
import { peerId } from '../base/keys.js';
import { CandidateSet } from './candidateSet.js';
import { INTRODUCTION_RETRY_MS } from './constants.js';
import { addressScope, ipOf } from './endpointClass.js';
import { Introductions } from './introductions.js';
import type { DiscoveryMessage } from './messages.js';
import type { NatBehaviour } from './natBehaviour.js';
import type {
  DiscoveryEvent,
  DiscoveryOutput,
  DiscoverySend,
  PathChoice,
  PathSnapshot,
  RelayOption,
  Source,
} from './pathTypes.js';
import { PeerPath, type Probe } from './peerPath.js';
import { ProbeBudget, type ProbeCounters } from './probeBudget.js';

export interface DiscoveryPeer {
  /** WireGuard public key, base64: the id used everywhere in discovery. */
  readonly id: string;
  readonly name: string;
  /** The endpoints in its signed endpoint record. */
  readonly candidates: readonly string[];
  /** False when the member opted out of relaying (--no-relay). */
  readonly relay: boolean;
}

export interface DiscoveryOptions {
  readonly self: string;
  readonly now: number;
  /** Our interfaces' endpoints (address:listen port). */
  readonly local: readonly string[];
  /** Endpoints the user announces (--endpoint), tried by peers first. */
  readonly announced?: readonly string[];
  readonly random?: () => number;
}

/** What one step of discovery sends and reports, before its wake time is known. */
type Batch = Omit<DiscoveryOutput, 'nextWakeAt'>;

export class Discovery {
  private readonly own: CandidateSet;
  private readonly peers = new Map<string, DiscoveryPeer>();
  /** Per peer record (setPeers gives new ones when records change): see isPublic. */
  private readonly publicRecords = new WeakMap<
    DiscoveryPeer,
    { record: boolean; endpoint: string; endpointPublic: boolean }
  >();
  private readonly paths = new Map<string, PeerPath>();
  private readonly random: () => number;
  private readonly introductions: Introductions;
  private readonly budget: ProbeBudget;
  private nextWakeAt = Number.NEGATIVE_INFINITY;
  /** The latest time we were given: paths ask for our reflexive IPs as of then. */
  private clock: number;

  constructor(private readonly options: DiscoveryOptions) {
    this.own = new CandidateSet(options.local, options.announced ?? []);
    this.random = options.random ?? Math.random;
    this.clock = options.now;
    this.introductions = new Introductions({
      self: options.self,
      directEndpoint: (id) => this.directEndpoint(id),
      announcedBy: (id) => this.peers.get(id)?.candidates,
    });
    this.budget = new ProbeBudget((member) => {
      let n = 0;
      for (const path of this.paths.values()) n += path.unansweredBy(member);
      return n;
    });
  }

  /** The members to keep paths to (the roster minus us); a path to a member gone is dropped. */
  setPeers(peers: readonly DiscoveryPeer[], now: number): DiscoveryOutput {
    const next = new Map(peers.filter((p) => p.id !== this.options.self).map((p) => [p.id, p]));
    for (const id of this.peers.keys()) {
      if (next.has(id)) continue;
      this.paths.delete(id);
      this.introductions.forget(id);
      this.budget.forget(id);
      for (const path of this.paths.values()) path.forgetNamedBy(id);
    }
    this.peers.clear();
    for (const [id, p] of next) {
      this.peers.set(id, p);
      let path = this.paths.get(id);
      if (path === undefined) {
        path = new PeerPath({
          peer: id,
          now,
          random: this.random,
          ourReflexiveIps: () => this.own.reflexiveIps(this.clock),
          budget: this.budget,
        });
        path.startBurst(now);
        this.paths.set(id, path);
      }
      path.setAnnounced(p.candidates, now);
    }
    return this.tick(now);
  }

  /**
   * Our interfaces, read again (the node does every 30 s). When they changed (a laptop on another
   * network): re-announce, and probe again at once; when not, nothing, not even a tick: a burst
   * is five pings on every route to every peer.
   */
  setLocal(local: readonly string[], now: number): DiscoveryOutput {
    if (!this.own.setLocal(local, now)) return { send: [], events: [], nextWakeAt: this.nextWakeAt };
    for (const path of this.paths.values()) path.startBurst(now);
    const events: DiscoveryEvent[] = [{ type: 'candidatesChanged', candidates: this.candidates(now) }];
    return this.merge(this.tick(now), { send: [], events });
  }

  /**
   * A STUN server at `server` saw us at `observed` (--stun): the same evidence as a peer's pong,
   * from a machine that is no member. A new reflexive address is announced and told to peers.
   */
  noteReflexive(server: string, observed: string, now: number): DiscoveryOutput {
    const events: DiscoveryEvent[] = [];
    const send: DiscoverySend[] = [];
    if (this.own.noteObserved(server, observed, now)) {
      events.push({ type: 'candidatesChanged', candidates: this.candidates(now) });
      send.push(...this.callEveryoneNotDirect(now));
    }
    return this.merge(this.tick(now), { send, events });
  }

  /** Whether traffic flows to a peer (PeerPath.setActive): an idle path is checked rarely, a waking one at once. */
  setActive(id: string, active: boolean, now: number): DiscoveryOutput {
    this.paths.get(id)?.setActive(active, now);
    return this.tickSome([id], now);
  }

  /** A discovery message from member `from` (the node opened its seal), and where it came from. */
  receive(from: string, message: DiscoveryMessage, source: Source, now: number): DiscoveryOutput {
    const path = this.paths.get(from);
    if (path === undefined) return this.tick(now);
    const send: DiscoverySend[] = [];
    const events: DiscoveryEvent[] = [];
    const direct = 'endpoint' in source ? source.endpoint : undefined;
    switch (message.kind) {
      case 'ping': {
        const pong: DiscoveryMessage =
          direct === undefined
            ? { kind: 'pong', txid: message.txid }
            : { kind: 'pong', txid: message.txid, observed: direct };
        this.pushSend(send, from, source, pong);
        path.pinged(source, now);
        break;
      }
      case 'pong': {
        const credited = path.ponged(message.txid, source, now);
        if (credited?.route.type === 'direct' && message.observed !== undefined) {
          if (this.own.noteObserved(credited.route.endpoint, message.observed, now)) {
            events.push({ type: 'candidatesChanged', candidates: this.candidates(now) });
            send.push(...this.callEveryoneNotDirect(now));
          }
        }
        break;
      }
      case 'callMeMaybe':
        // The peer's own candidates: taken, within its share (it pays for the ones that never answer).
        if (path.startBurst(now)) this.pushSend(send, from, source, this.callMeMaybe(now));
        path.introduce(message.candidates, from, now);
        break;
      case 'introduce': {
        const peer = peerId(message.peer);
        const other = this.paths.get(peer);
        // About a non-member, us, or itself: nothing we could have asked for.
        if (other === undefined || peer === from) {
          this.introductions.unasked++;
          break;
        }
        const verdict = this.introductions.received(from, peer, now);
        send.push(...verdict.send);
        if (verdict.take === 'candidates') other.introduce(message.candidates, from, now);
        else if (verdict.take === 'probe') other.startBurst(now);
        break;
      }
      case 'introduceRequest':
        send.push(...this.introductions.requested(from, peerId(message.peer), now));
        break;
      case 'bye': {
        const changed = path.left(now);
        if (changed) events.push({ type: 'pathChanged', ...changed });
        break;
      }
    }
    const touched = message.kind === 'introduce' ? [from, peerId(message.peer)] : [from];
    return this.merge(this.tickSome(touched, now), { send, events });
  }

  /** Byes to every member we have a path to, the way its traffic goes: this node is going away. */
  farewell(): DiscoverySend[] {
    const send: DiscoverySend[] = [];
    for (const [id, path] of this.paths) {
      const c = path.choice();
      if (c.path === 'direct') send.push({ to: id, endpoint: c.endpoint, message: { kind: 'bye' } });
      else if (c.path === 'relay') this.pushSend(send, id, { via: c.via }, { kind: 'bye' });
    }
    return send;
  }

  /**
   * A message concerns one path (two for an introduction): only those are ticked, so a node hearing
   * from N peers does O(N) path work, not O(N²). Every other path keeps its own wake time, and the
   * full tick (relays re-ranked, introductions asked) still runs at nextWakeAt.
   */
  private tickSome(ids: readonly string[], now: number): DiscoveryOutput {
    if (now >= this.nextWakeAt) return this.tick(now);
    this.clock = Math.max(this.clock, now);
    const out: Batch = { send: [], events: [] };
    for (const id of ids) {
      const path = this.paths.get(id);
      if (path !== undefined) this.nextWakeAt = Math.min(this.nextWakeAt, this.tickPath(id, path, now, out));
    }
    // Introductions as a full tick does them: a message may leave a path wanting one at once.
    this.nextWakeAt = Math.min(this.nextWakeAt, this.tickIntroductions(now, out.send));
    return { ...out, nextWakeAt: this.nextWakeAt };
  }

  /** Probes, heartbeats, introductions and path decisions due by `now`. Call again at `nextWakeAt`. */
  tick(now: number): DiscoveryOutput {
    this.clock = Math.max(this.clock, now);
    const out: Batch = { send: [], events: [] };
    // Once per tick, not per path: there are N paths.
    const relays = this.relayOptions();
    const relayIds = new Set(relays.map((r) => r.id));
    let wake = Number.POSITIVE_INFINITY;
    for (const [id, path] of this.paths) {
      path.setRelays(relays, relayIds, now);
      wake = Math.min(wake, this.tickPath(id, path, now, out));
    }
    wake = Math.min(wake, this.tickIntroductions(now, out.send));
    this.nextWakeAt = Number.isFinite(wake) ? wake : now + INTRODUCTION_RETRY_MS;
    return { ...out, nextWakeAt: this.nextWakeAt };
  }

  /** One path's due probes and decisions into `out`; returns when it wants to wake next. */
  private tickPath(id: string, path: PeerPath, now: number, out: Batch): number {
    const ticked = path.tick(now);
    for (const probe of ticked.probes) {
      const s = this.probeSend(id, probe);
      if (s) out.send.push(s);
    }
    for (const c of ticked.changed) out.events.push({ type: 'pathChanged', ...c });
    return ticked.nextWakeAt;
  }

  /** Introductions asked for and due, into `send`; returns when they want to wake next. */
  private tickIntroductions(now: number, send: DiscoverySend[]): number {
    send.push(...this.introductions.ask(this.paths, now));
    const pending = this.introductions.due(now);
    send.push(...pending.send);
    return pending.wakeAt ?? Number.POSITIVE_INFINITY;
  }

  path(id: string): PathChoice {
    return this.paths.get(id)?.choice() ?? { path: 'none' };
  }

  /** Our candidates, best first: what the node announces in its endpoint record. */
  candidates(now: number): string[] {
    return this.own.list(now);
  }

  natBehaviour(now: number): NatBehaviour {
    return this.own.natBehaviour(now);
  }

  snapshot(id: string, now: number): PathSnapshot | undefined {
    const path = this.paths.get(id);
    if (path === undefined) return undefined;
    const s = path.snapshot(now);
    const c = s.choice;
    const { choice: _, ...rest } = s;
    return {
      peer: id,
      ...rest,
      path: c.path,
      ...(c.path === 'direct' && { endpoint: c.endpoint }),
      ...(c.path === 'relay' && { via: c.via, viaName: this.peers.get(c.via)?.name ?? c.via }),
      ...(c.path === 'relay' &&
        this.directEndpoint(c.via) !== undefined && { endpoint: this.directEndpoint(c.via) }),
      natSelf: this.own.natBehaviour(now),
    };
  }

  /** What members asked of our probes and did not get (issue 10, hole 6). */
  get probeCounters(): ProbeCounters {
    return {
      unaskedIntroductions: this.introductions.unasked,
      refusedCandidates: this.budget.refusedCandidates,
      refusedProbes: this.budget.refusedProbes,
      agedOutCandidates: this.budget.agedOutCandidates,
    };
  }

  // ---------------------------------------------------------------------------------------------

  private directEndpoint(id: string): string | undefined {
    const c = this.paths.get(id)?.choice();
    return c?.path === 'direct' ? c.endpoint : undefined;
  }

  private probeSend(id: string, probe: Probe): DiscoverySend | undefined {
    const ping: DiscoveryMessage = { kind: 'ping', txid: probe.txid };
    if ('endpoint' in probe) return { to: id, endpoint: probe.endpoint, message: ping };
    const endpoint = this.directEndpoint(probe.via);
    return endpoint === undefined ? undefined : { to: id, endpoint, via: probe.via, message: ping };
  }

  private pushSend(send: DiscoverySend[], to: string, source: Source, message: DiscoveryMessage): void {
    if ('endpoint' in source) {
      send.push({ to, endpoint: source.endpoint, message });
      return;
    }
    const endpoint = this.directEndpoint(source.via);
    if (endpoint !== undefined) send.push({ to, endpoint, via: source.via, message });
  }

  /** Members that may relay: willing, reached directly by us; public ones first, then by RTT. */
  private relayOptions(): RelayOption[] {
    const out: { option: RelayOption; rtt: number }[] = [];
    for (const [id, peer] of this.peers) {
      const endpoint = this.directEndpoint(id);
      if (!peer.relay || endpoint === undefined) continue;
      const isPublic = this.isPublic(peer, endpoint);
      const rtt = this.paths.get(id)!.rttMs() ?? 1_000;
      out.push({ option: { id, name: peer.name, public: isPublic }, rtt });
    }
    out.sort((a, b) => Number(b.option.public) - Number(a.option.public) || a.rtt - b.rtt);
    return out.map((o) => o.option);
  }

  /**
   * Whether a peer is on a public address: its endpoint record names one, or the endpoint we reach
   * it at is one. Parsed once per record and per endpoint, not on every tick for every peer.
   */
  private isPublic(peer: DiscoveryPeer, endpoint: string): boolean {
    let known = this.publicRecords.get(peer);
    if (known === undefined) {
      known = { record: peer.candidates.some(isPublicEndpoint), endpoint: '', endpointPublic: false };
      this.publicRecords.set(peer, known);
    }
    if (known.record) return true;
    if (known.endpoint !== endpoint) {
      known.endpoint = endpoint;
      known.endpointPublic = isPublicEndpoint(endpoint);
    }
    return known.endpointPublic;
  }

  private callMeMaybe(now: number): DiscoveryMessage {
    return { kind: 'callMeMaybe', candidates: this.own.list(now) };
  }

  /** Our reflexive address changed: peers that do not reach us directly hear our new candidates. */
  private callEveryoneNotDirect(now: number): DiscoverySend[] {
    const out: DiscoverySend[] = [];
    for (const [id, path] of this.paths) {
      const c = path.choice();
      if (c.path !== 'relay') continue;
      const endpoint = this.directEndpoint(c.via);
      if (endpoint !== undefined) out.push({ to: id, endpoint, via: c.via, message: this.callMeMaybe(now) });
    }
    return out;
  }

  private merge(a: DiscoveryOutput, b: Batch): DiscoveryOutput {
    return { send: [...b.send, ...a.send], events: [...b.events, ...a.events], nextWakeAt: a.nextWakeAt };
  }
}

function isPublicEndpoint(endpoint: string): boolean {
  const ip = ipOf(endpoint);
  return ip !== undefined && addressScope(ip) === 'public';
}
