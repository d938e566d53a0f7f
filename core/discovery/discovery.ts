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
// Long file: Discovery composes its sub-machines (candidates, paths, relays, introductions, the
// probe budget, birthday probing, the filter test), each in a file of its own; what is left here is handing each
// message, tick and event to the right one, which reads best in one place.
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import { type PeerId, peerId } from '../base/keys.js';
import { Birthday, type BirthdayCounters, type BirthdaySend } from './birthday.js';
import { CandidateSet } from './candidateSet.js';
import { BURST_MIN_GAP_MS, INTRODUCTION_RETRY_MS } from './constants.js';
import { isPublicEndpoint, sameEndpoints } from './endpointClass.js';
import { FILTER_HOLE, type FilterCounters, type Filtering, FilterTest } from './filterTest.js';
import { Introductions } from './introductions.js';
import type { DiscoveryMessage } from './messages.js';
import type { NatClassification } from './natBehaviour.js';
import { PathTable } from './pathTable.js';
import type {
  DiscoveryEvent,
  DiscoveryOutput,
  DiscoverySend,
  PathChoice,
  PathSnapshot,
  Source,
} from './pathTypes.js';
import { PeerPath, type Probe } from './peerPath.js';
import { ProbeBudget, type ProbeCounters } from './probeBudget.js';
import { type Ranked, RelayRanking } from './relayRanking.js';

export interface DiscoveryPeer {
  readonly id: PeerId;
  readonly name: string;
  /** The endpoints in its signed endpoint record, and those of them its gateway forwards to it. */
  readonly candidates: readonly Endpoint[];
  readonly mapped?: readonly Endpoint[];
  /** False when the member opted out of relaying (--no-relay). */
  readonly relay: boolean;
  /**
   * Its relay epoch as its endpoint record names it (any text that changes when it does): a new
   * one means the member started again, and what we knew of its paths is stale.
   */
  readonly epoch?: string;
}

export interface DiscoveryOptions {
  readonly self: PeerId;
  readonly now: number;
  /** Our interfaces' endpoints (address:listen port). */
  readonly local: readonly Endpoint[];
  /** Endpoints the user announces (--endpoint), tried by peers first. */
  readonly announced?: readonly Endpoint[];
  readonly random?: () => number;
}

/** How many other direct paths a dead one makes us ping at once (recheckOthers). */
const RECHECK_PEERS = 4;

/** What one step of discovery sends and reports, before its wake time is known. */
type Batch = Omit<DiscoveryOutput, 'nextWakeAt'>;

export class Discovery {
  private readonly own: CandidateSet;
  private readonly peers = new Map<PeerId, DiscoveryPeer>();
  /** The paths, when each ticks next, and which are direct (pathTable.ts). */
  private readonly paths = new PathTable();
  private readonly relays: RelayRanking;
  private readonly random: () => number;
  private readonly introductions: Introductions;
  private readonly budget: ProbeBudget;
  /**
   * Birthday probing with peers behind the other kind of NAT (birthday.ts); the node asks it which
   * hole a peer's datagrams leave from (holeFor) and tells it where one came in (heardOnHole).
   */
  readonly birthday: Birthday;
  /** Whether our NAT lets in what it was not asked for, with members' help (filterTest.ts). */
  private readonly filter: FilterTest;
  /** Introductions are asked for when a path comes or goes (askNow), else when a round is due. */
  private askNow = true;
  /** When a dead path last made us ask the others (recheckOthers). */
  private recheckedAt = Number.NEGATIVE_INFINITY;
  private askAt = Number.NEGATIVE_INFINITY;
  private nextWakeAt = Number.NEGATIVE_INFINITY;
  /** Our public IPs as peers see them, when a path last looked (reflexiveChanged). */
  private reflexiveIps = '';
  /** The latest time we were given: paths ask for our reflexive IPs as of then. */
  private clock: number;
  /** Members that relay (--no-relay not given): who could carry a path's 'opened' (opening.ts). */
  private relaying = 0;

  constructor(private readonly options: DiscoveryOptions) {
    this.own = new CandidateSet(options.local, options.announced ?? []);
    this.random = options.random ?? Math.random;
    this.clock = options.now;
    this.introductions = new Introductions({
      self: options.self,
      directEndpoint: (id) => this.paths.directEndpoint(id),
      announcedBy: (id) => this.peers.get(id)?.candidates,
    });
    this.budget = new ProbeBudget((member) => this.paths.unansweredBy(member));
    this.birthday = new Birthday(this.random, (id) => this.peers.get(id)?.candidates);
    this.filter = new FilterTest(this.random);
    this.relays = new RelayRanking({
      members: () => this.peers.values(),
      directEndpoint: (id) => this.paths.directEndpoint(id),
      rttMs: (id) => this.paths.get(id)?.rttMs(),
    });
  }

  /**
   * The members to keep paths to (the roster minus us); a path to a member gone is dropped. The node
   * calls this whenever the roster changes: a member whose record did not change costs a comparison.
   */
  setPeers(peers: readonly DiscoveryPeer[], now: number): DiscoveryOutput {
    const next = new Map(peers.filter((p) => p.id !== this.options.self).map((p) => [p.id, p]));
    for (const id of this.peers.keys()) {
      if (next.has(id)) continue;
      this.paths.delete(id);
      this.relays.forget(id);
      this.introductions.forget(id);
      this.budget.forget(id);
      this.birthday.forget(id);
      this.filter.forget(id);
      for (const path of this.paths.values()) path.forgetNamedBy(id);
    }
    const before = new Map(this.peers);
    this.peers.clear();
    this.relaying = [...next.values()].filter((p) => p.relay).length;
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
          canTell: () => this.relaying - (this.peers.get(id)?.relay ? 1 : 0) > 0,
          ourPublicAddress: () => this.own.hasPublicLocal(),
        });
        path.startBurst(now);
        this.paths.add(id, path, now);
        this.askNow = true;
      } else {
        const had = before.get(id)!;
        // It started again: every route's evidence predates it, and the relayed ones cannot have
        // worked since (its new epoch is a new relay key). Probing it now also tells it which
        // relay routes work again, where its own first burst went unanswered (restartedPeer.test.ts).
        if (had.epoch !== p.epoch) path.startBurst(now);
        const same =
          sameEndpoints(had.candidates, p.candidates) && sameEndpoints(had.mapped ?? [], p.mapped ?? []);
        if (same && had.relay === p.relay && had.epoch === p.epoch) continue;
        if (had.relay !== p.relay) this.relays.invalidate();
      }
      path.setAnnounced(p.candidates, now, p.mapped);
      this.paths.wakeAt(id, now);
    }
    this.relays.invalidate();
    return this.step(now, []);
  }

  /**
   * Our interfaces, read again (the node does every 30 s). When they changed (a laptop on another
   * network): re-announce, and probe again at once; when not, nothing, not even a tick: a burst
   * is five pings on every route to every peer.
   */
  setLocal(local: readonly Endpoint[], now: number): DiscoveryOutput {
    if (!this.own.setLocal(local, now)) return { send: [], events: [], nextWakeAt: this.nextWakeAt };
    this.filter.reset(now);
    for (const path of this.paths.values()) path.startBurst(now);
    this.paths.wakeAll(now);
    const events: DiscoveryEvent[] = [{ type: 'candidatesChanged', candidates: this.candidates(now) }];
    return this.merge(this.step(now, []), { send: [], events });
  }

  /**
   * A STUN server at `server` saw us at `observed` (--stun): the same evidence as a peer's pong,
   * from a machine that is no member. A new reflexive address is announced and told to peers.
   */
  noteReflexive(server: Endpoint, observed: Endpoint, now: number): DiscoveryOutput {
    const events: DiscoveryEvent[] = [];
    const send: DiscoverySend[] = [];
    if (this.own.noteObserved(server, observed, now)) this.reflexiveChanged(now, send, events);
    return this.merge(this.step(now, []), { send, events });
  }

  /** Whether traffic flows to a peer (PeerPath.setActive); a waking path is ticked at once. */
  setActive(id: PeerId, active: boolean, now: number): DiscoveryOutput {
    const path = this.paths.get(id);
    if (path === undefined || path.active === active) return this.step(now, []);
    path.setActive(active, now);
    if (active) this.askNow = true; // its introductions are due every 10 s again, not 60
    return this.step(now, [id]);
  }

  /** A discovery message from member `from` (seal opened), whence, and a pong's RTT as the node timed it. */
  receive(from: PeerId, msg: DiscoveryMessage, source: Source, now: number, rtt?: number): DiscoveryOutput {
    const path = this.paths.get(from);
    if (path === undefined) return this.step(now, []);
    const send: DiscoverySend[] = [];
    const events: DiscoveryEvent[] = [];
    const direct = 'endpoint' in source ? source.endpoint : undefined;
    switch (msg.kind) {
      case 'ping': {
        const pong: DiscoveryMessage =
          direct === undefined
            ? { kind: 'pong', txid: msg.txid }
            : { kind: 'pong', txid: msg.txid, observed: direct };
        this.pushSend(send, from, source, pong);
        path.pinged(source, now);
        break;
      }
      case 'pong': {
        const credited = path.ponged(msg.txid, source, now, rtt);
        if (credited?.route.type === 'direct' && msg.observed !== undefined) {
          if (this.own.noteObserved(credited.route.endpoint, msg.observed, now))
            this.reflexiveChanged(now, send, events);
        }
        break;
      }
      case 'callMeMaybe':
        // The peer's own candidates: taken, within its share (it pays for the ones that never answer).
        if (path.startBurst(now)) this.pushSend(send, from, source, this.callMeMaybe(now));
        path.introduce(msg.candidates, from, now);
        break;
      case 'introduce': {
        const peer = peerId(msg.peer);
        const other = this.paths.get(peer);
        // About a non-member, us, or itself: nothing we could have asked for.
        if (other === undefined || peer === from) {
          this.introductions.unasked++;
          break;
        }
        const verdict = this.introductions.received(from, peer, now);
        send.push(...verdict.send);
        if (verdict.take === 'candidates') {
          other.introduce(msg.candidates, from, now);
          this.birthday.seen(peer, msg.candidates[0], now);
        } else if (verdict.take === 'probe') other.startBurst(now);
        break;
      }
      case 'introduceRequest':
        send.push(...this.introductions.requested(from, peerId(msg.peer), now));
        break;
      case 'birthday': {
        const direct = this.paths.directEndpoint(from) !== undefined;
        const b = this.birthday.receive(from, msg.step, this.own.natBehaviour(now), direct, now);
        this.birthdaySends(b.send, send);
        break;
      }
      case 'filterTest':
        send.push(
          ...this.filter.receive(
            from,
            msg,
            source,
            this.paths.directEndpoint(from),
            { mapping: this.own.natBehaviour(now), ...this.own.natPorts(now) },
            now,
          ),
        );
        this.own.noteNoFirewall(this.filter.filtering() === 'no-firewall');
        break;
      case 'opened':
        path.peerOpened(now);
        break;
      case 'bye': {
        const changed = path.left(now);
        if (changed) events.push({ type: 'pathChanged', ...changed });
        break;
      }
    }
    const touched = msg.kind === 'introduce' ? [from, peerId(msg.peer)] : [from];
    return this.merge(this.step(now, touched), { send, events });
  }

  /** Byes to every member we have a path to, the way its traffic goes: this node is going away. */
  farewell(): DiscoverySend[] {
    const send: DiscoverySend[] = [];
    for (const [id, path] of this.paths.entries()) {
      const c = path.choice();
      if (c.path === 'direct') send.push({ to: id, endpoint: c.endpoint, message: { kind: 'bye' } });
      else if (c.path === 'relay') this.pushSend(send, id, { via: c.via }, { kind: 'bye' });
    }
    return send;
  }

  /** Probes, heartbeats, introductions and path decisions due by `now`. Call again at `nextWakeAt`. */
  tick(now: number): DiscoveryOutput {
    return this.step(now, []);
  }

  /**
   * One step: the paths `touched` (a message concerns one, two for an introduction) and the paths
   * due by `now` are ticked, each offered the relays first; then introductions. Every other path keeps
   * its own wake time, so a node hearing from N peers does O(N log N) path work, not O(N²).
   */
  private step(now: number, touched: readonly PeerId[]): DiscoveryOutput {
    this.clock = Math.max(this.clock, now);
    const out: Batch = { send: [], events: [] };
    const relays = this.relays.current(now);
    if (relays.changed) this.offerRelays(relays, now);
    for (const id of touched) this.tickPath(id, relays, now, out);
    for (const id of this.paths.takeDue(now)) this.tickPath(id, relays, now, out);
    const birthday = this.birthday.tick(now, this.own.natBehaviour(now), this.paths.notDirect());
    this.birthdaySends(birthday.send, out.send);
    for (const c of birthday.close) out.events.push({ type: 'holesClosed', ...c });
    const filter = this.filter.tick(
      now,
      () => this.directEndpoints(),
      (id) => this.paths.get(id)?.behindNat === false,
    );
    out.send.push(...filter.send);
    for (const peer of filter.close) out.events.push({ type: 'holesClosed', peer, only: FILTER_HOLE });
    this.own.noteNoFirewall(this.filter.filtering() === 'no-firewall');
    const wake = Math.min(
      this.paths.nextWake(),
      this.tickIntroductions(now, out.send),
      birthday.wakeAt,
      filter.wakeAt,
    );
    this.nextWakeAt = Number.isFinite(wake) ? wake : now + INTRODUCTION_RETRY_MS;
    return { ...out, nextWakeAt: this.nextWakeAt };
  }

  /** The set of relays changed: every path is offered it, and one that took or lost a route ticks now. */
  private offerRelays(relays: Ranked, now: number): void {
    for (const [id, path] of this.paths.entries()) {
      if (!path.setRelays(relays.options, relays.ids, now)) continue;
      this.paths.wakeAt(id, now);
      this.noteChoice(id);
    }
  }

  /** One path's due probes and decisions into `out`, and its next wake. */
  private tickPath(id: PeerId, relays: Ranked, now: number, out: Batch): void {
    const path = this.paths.get(id);
    if (path === undefined) return;
    path.setRelays(relays.options, relays.ids, now);
    const ticked = path.tick(now);
    for (const probe of ticked.probes) {
      const s = this.probeSend(id, probe);
      if (s) out.send.push(s);
    }
    // After the openers: the peer's whole pings must find our NAT open (opening.ts).
    for (const via of ticked.tell) this.pushSend(out.send, id, { via }, { kind: 'opened' });
    for (const c of ticked.changed) out.events.push({ type: 'pathChanged', ...c });
    this.paths.wakeAt(id, ticked.nextWakeAt);
    this.noteChoice(id);
    if (ticked.changed.some((c) => c.reason === 'direct-lost')) this.recheckOthers(id, now);
  }

  /**
   * A direct path in use died: maybe we moved (a new address, a NAT that gave us a new port), which
   * nothing else tells us before the next look at our interfaces. So the direct paths to a few other
   * members, public ones first, are pinged now rather than at their idle heartbeat: their pongs say
   * where they see us (our new reflexive address, introductions follow), and their ends see our
   * pings come from there and follow us (PeerPath.pinged). Once per BURST_MIN_GAP_MS.
   */
  private recheckOthers(lost: PeerId, now: number): void {
    if (now - this.recheckedAt < BURST_MIN_GAP_MS) return;
    this.recheckedAt = now;
    const ids = this.paths.directIds().filter((id) => id !== lost);
    const isPublic = (id: PeerId) => isPublicEndpoint(this.paths.directEndpoint(id)!);
    ids.sort((a, b) => Number(isPublic(b)) - Number(isPublic(a)));
    let asked = 0;
    for (const id of ids) {
      if (asked >= RECHECK_PEERS) break;
      if (!this.paths.get(id)?.recheck(now)) continue;
      this.paths.wakeAt(id, now);
      asked++;
    }
  }

  /** When a path went direct, stopped being direct or moved: relays ranked, introductions asked, again. */
  private noteChoice(id: PeerId): void {
    if (!this.paths.noteChoice(id)) return;
    this.relays.invalidate();
    this.askNow = true;
  }

  /** Introductions asked for and due, into `send`; returns when they want to wake next. */
  private tickIntroductions(now: number, send: DiscoverySend[]): number {
    if (this.askNow || now >= this.askAt) {
      this.askNow = false;
      const asked = this.introductions.ask(
        this.paths.notDirect(),
        () => this.paths.directIds(),
        (id) => this.paths.get(id)?.active === false,
        now,
      );
      send.push(...asked.send);
      this.askAt = asked.wakeAt;
    }
    const pending = this.introductions.due(now);
    send.push(...pending.send);
    return Math.min(this.askAt, pending.wakeAt ?? Number.POSITIVE_INFINITY);
  }

  path(id: PeerId): PathChoice {
    return this.paths.get(id)?.choice() ?? { path: 'none' };
  }

  /** Our candidates, best first: what the node announces in its endpoint record. */
  candidates(now: number): Endpoint[] {
    return this.own.list(now);
  }

  /** What the vantage points say of our NAT, and the filter test, for `overlay status` (natBehaviour.ts). */
  natClassification(now: number): NatClassification & { filtering: Filtering | null } {
    return { ...this.own.natClassification(now), filtering: this.filter.filtering() };
  }

  snapshot(id: PeerId, now: number): PathSnapshot | undefined {
    const path = this.paths.get(id);
    if (path === undefined) return undefined;
    const s = path.snapshot(now);
    const c = s.choice;
    const { choice: _, ...rest } = s;
    // Text from here: the snapshot is `overlay status` JSON. A relayed path shows the relay's endpoint.
    const endpoint =
      c.path === 'direct' ? c.endpoint : c.path === 'relay' ? this.paths.directEndpoint(c.via) : undefined;
    return {
      peer: id,
      ...rest,
      path: c.path,
      ...(endpoint !== undefined && { endpoint: formatEndpoint(endpoint) }),
      ...(c.path === 'relay' && { via: c.via, viaName: this.peers.get(c.via)?.name ?? c.via }),
      natSelf: this.own.natBehaviour(now),
    };
  }

  /** What members asked of our probes and did not get (issue 10, hole 6), and birthday probing's counts. */
  get probeCounters(): ProbeCounters & BirthdayCounters & FilterCounters {
    return {
      ...this.birthday.stats,
      ...this.filter.stats,
      unaskedIntroductions: this.introductions.unasked,
      refusedCandidates: this.budget.refusedCandidates,
      refusedProbes: this.budget.refusedProbes,
      agedOutCandidates: this.budget.agedOutCandidates,
    };
  }

  // ---------------------------------------------------------------------------------------------

  /** The members we reach directly, by the endpoint we reach each at. */
  private directEndpoints(): Map<PeerId, Endpoint> {
    return new Map(this.paths.directIds().map((id) => [id, this.paths.directEndpoint(id)!]));
  }

  private probeSend(id: PeerId, probe: Probe): DiscoverySend | undefined {
    const ping: DiscoveryMessage = { kind: 'ping', txid: probe.txid };
    if ('endpoint' in probe)
      return { to: id, endpoint: probe.endpoint, message: ping, ...(probe.ttl && { ttl: probe.ttl }) };
    const endpoint = this.paths.directEndpoint(probe.via);
    return endpoint === undefined ? undefined : { to: id, endpoint, via: probe.via, message: ping };
  }

  private pushSend(send: DiscoverySend[], to: PeerId, source: Source, message: DiscoveryMessage): void {
    if ('endpoint' in source) {
      send.push({ to, endpoint: source.endpoint, message });
      return;
    }
    const endpoint = this.paths.directEndpoint(source.via);
    if (endpoint !== undefined) send.push({ to, endpoint, via: source.via, message });
  }

  /** Birthday's sends: a step goes the way the peer's path goes now (a relay), the rest as addressed. */
  private birthdaySends(from: readonly BirthdaySend[], send: DiscoverySend[]): void {
    for (const b of from) {
      if ('endpoint' in b) {
        send.push(b);
        continue;
      }
      const c = this.path(b.to);
      if (c.path === 'relay') this.pushSend(send, b.to, { via: c.via }, b.message);
      else if (c.path === 'direct') send.push({ to: b.to, endpoint: c.endpoint, message: b.message });
    }
  }

  private callMeMaybe(now: number): DiscoveryMessage {
    return { kind: 'callMeMaybe', candidates: this.own.list(now) };
  }

  /**
   * A new reflexive address of ours: announced, and told to the peers that do not reach us directly.
   * When our public IPs changed, whether a peer shares our NAT (its candidates among them) may have
   * too, so every path decides again now; a new port alone (a NAT mapping per destination: one per
   * peer) changes no path's mind.
   */
  private reflexiveChanged(now: number, send: DiscoverySend[], events: DiscoveryEvent[]): void {
    events.push({ type: 'candidatesChanged', candidates: this.candidates(now) });
    for (const [id, path] of this.paths.entries()) {
      const c = path.choice();
      if (c.path !== 'relay') continue;
      const endpoint = this.paths.directEndpoint(c.via);
      if (endpoint !== undefined) send.push({ to: id, endpoint, via: c.via, message: this.callMeMaybe(now) });
    }
    const ips = [...this.own.reflexiveIps(now)].sort().join();
    // Another public IP: another NAT, perhaps, whose filter is not the one we measured.
    if (ips !== this.reflexiveIps && this.reflexiveIps !== '') this.filter.reset(now);
    if (ips !== this.reflexiveIps) this.paths.wakeAll(now);
    this.reflexiveIps = ips;
  }

  private merge(a: DiscoveryOutput, b: Batch): DiscoveryOutput {
    return { send: [...b.send, ...a.send], events: [...b.events, ...a.events], nextWakeAt: a.nextWakeAt };
  }
}
