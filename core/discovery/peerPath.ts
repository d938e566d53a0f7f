/**
 * The path to one peer, as a pure state machine: which of its candidate endpoints answers, how fast
 * and how reliably, and whether to use one of them (direct) or a relay member — re-decided as evidence
 * arrives. Pings go out in bursts to every candidate at once on an introduction (simultaneous open:
 * each side's outgoing probe opens its own NAT for the other's), then the path in use is pinged every
 * second and the alternatives every few seconds, so a dying path is left within 3 s and a returning
 * direct one is taken back within 10 s.
 *
 * Only authenticated evidence moves the path: a pong carrying a txid we sent, from the address we
 * sent it to. A peer's ping from a new address only makes us probe that address (roaming); it cannot
 * by itself point our traffic anywhere.
 *
 * Nor can any member point our probes anywhere for long (issue 10, hole 6): which direct routes the
 * path holds, and who named each, is CandidateRoutes' job; a ping to a route that never answered is
 * sent only when that member's budget and the path's pay for it (ProbeBudget).
 */
// Long file: one state machine (PeerPath) whose decisions (decide, switchTo) and probe schedule
// (bursts, heartbeats, alternatives, nextWakeAt) read the same timers and evidence; the evidence per
// route (pathEvidence.ts), the routes members name (candidateRoutes.ts) and the probe budget
// (probeBudget.ts) are already apart. A quarter of its length is the constants' import list.

import { hex } from '../base/bytes.js';
import type { Endpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { CandidateRoutes } from './candidateRoutes.js';
import {
  ALTERNATIVE_PROBE_JITTER_MS,
  ALTERNATIVE_PROBE_MS,
  BURST_MIN_GAP_MS,
  BURST_OFFSETS_MS,
  CONFIRM_PING_MS,
  DEAD_AFTER_MS,
  DIRECT_DEADLINE_MS,
  HEARTBEAT_MS,
  IDLE_ALTERNATIVE_PROBE_MS,
  IDLE_HEARTBEAT_MS,
  MAX_PENDING_PINGS,
  MAX_RELAYS_PER_PEER,
  PONG_TIMEOUT_MS,
  RELAY_PROBE_ON_DIRECT_MS,
  ROAMED_ANSWER_MS,
  SLOW_PROBE_MS,
  STALE_CANDIDATE_MS,
  SUSPECT_AFTER_MS,
  SUSPECT_PING_MS,
  SWITCH_MIN_GAIN_MS,
  SWITCH_RATIO,
  TXID_SIZE,
} from './constants.js';
import { Opening } from './opening.js';
import { PathEvidence, type Route, routeKey, sourceKey } from './pathEvidence.js';
import type {
  CandidateSnapshot,
  PathChanged,
  PathChoice,
  PathReason,
  RelayOption,
  Source,
} from './pathTypes.js';
import type { ProbeBudget } from './probeBudget.js';

/**
 * A ping to send: to the peer at `endpoint` (with IP TTL `ttl` when it is an opener, opening.ts), or
 * to the peer through relay member `via`.
 */
export type Probe = { txid: Uint8Array } & ({ endpoint: Endpoint; ttl?: number } | { via: PeerId });

export interface PeerPathOptions {
  readonly peer: PeerId;
  readonly now: number;
  readonly random: () => number;
  /** Our public IPs as peers see them: a peer candidate among them means we share its NAT. */
  readonly ourReflexiveIps: () => ReadonlySet<string>;
  /** Pays for pings to addresses that never answered; shared by all paths (a member's budget spans them). */
  readonly budget: ProbeBudget;
  /** Whether a member other than the peer relays: one that could carry our 'opened' (opening.ts). */
  readonly canTell?: () => boolean;
  /** Whether we have a public address of our own (no NAT of ours): our openers' TTL (opening.ts). */
  readonly ourPublicAddress?: () => boolean;
}

export class PeerPath {
  /** By routeKey: a direct route's endpoint text (two parses of one address are two objects). */
  private readonly routes = new Map<string, PathEvidence>();
  private readonly pending = new Map<string, { key: string; sentAt: number }>();
  private readonly candidates: CandidateRoutes;
  private current: PathEvidence | undefined;
  private currentSince: number;
  /** When the peer last pinged us on the path in use (see pinged). */
  private heardPingAt = Number.NEGATIVE_INFINITY;
  /**
   * The idle keepalive period, drawn anew at each ping either way from 80–100% of IDLE_HEARTBEAT_MS:
   * two ends that fell idle together would otherwise ping in lockstep, each before hearing the other.
   */
  private idlePeriod = IDLE_HEARTBEAT_MS;
  private lastReason: PathReason = 'start';
  private burstAt = Number.NEGATIVE_INFINITY;
  private burstStep = BURST_OFFSETS_MS.length;
  private noneSince: number;
  private alternativesAt: number;
  private readonly startedAt: number;
  private firstDirectAt: number | undefined;
  private sameNat = false;
  /** The node says whether traffic flows (setActive); an idle peer's path is checked rarely. */
  private activeNow = true;
  private readonly opening = new Opening();
  /** This tick pinged addresses of the peer's that never answered (openers or whole): we tell it. */
  private opened = false;

  constructor(private readonly options: PeerPathOptions) {
    this.startedAt = options.now;
    this.noneSince = options.now;
    this.currentSince = options.now;
    this.alternativesAt = options.now + this.alternativeInterval();
    this.candidates = new CandidateRoutes({
      peer: options.peer,
      routes: this.routes,
      current: () => this.current,
      ourReflexiveIps: options.ourReflexiveIps,
      budget: options.budget,
    });
  }

  get peer(): PeerId {
    return this.options.peer;
  }

  get active(): boolean {
    return this.activeNow;
  }

  /**
   * Whether traffic flows to the peer (issue 12, point 5). An idle path is only kept open: pinged
   * every IDLE_HEARTBEAT_MS, its alternatives every IDLE_ALTERNATIVE_PROBE_MS. When traffic starts
   * again the path in use and every alternative are pinged at once, so a path that died while idle
   * is found dead (and left) within DEAD_AFTER_MS of the first packet, as a busy one would be.
   */
  setActive(active: boolean, now: number): void {
    if (active === this.activeNow) return;
    this.activeNow = active;
    if (active) {
      if (this.current !== undefined) this.current.probeNowAt = now;
      this.alternativesAt = now;
    } else {
      this.alternativesAt = now + this.alternativeInterval();
    }
  }

  choice(): PathChoice {
    const r = this.current?.route;
    if (r === undefined) return { path: 'none' };
    return r.type === 'direct' ? { path: 'direct', endpoint: r.endpoint } : { path: 'relay', via: r.via };
  }

  /** Smoothed RTT of the path in use, if it has answered. */
  rttMs(): number | undefined {
    return this.current?.srttMs;
  }

  /** Whether the peer announces a private address besides its public ones (a NAT, perhaps). */
  get behindNat(): boolean {
    return this.candidates.behindNat;
  }

  /** The peer's announced candidates (its endpoint record): the list replaces the previous one. */
  setAnnounced(candidates: readonly Endpoint[], now: number, mapped?: readonly Endpoint[]): void {
    this.candidates.setAnnounced(candidates, now, mapped);
  }

  /**
   * Candidates member `namedBy` gave us — the peer in a call-me-maybe, or an introducer we asked —
   * taken within its share (CandidateRoutes); then everything is probed at once.
   */
  introduce(candidates: readonly Endpoint[], namedBy: PeerId, now: number): void {
    this.candidates.named(candidates, namedBy, now);
    this.startBurst(now);
  }

  /** Never-answered addresses member `namedBy` named on this path in messages. */
  unansweredBy(namedBy: PeerId): number {
    return this.candidates.unansweredBy(namedBy);
  }

  /** Member `id` left: the never-answered addresses it named here go with it. */
  forgetNamedBy(id: PeerId): void {
    this.candidates.forgetNamedBy(id);
  }

  /**
   * Relay members we reach directly and the peer may reach too, best first (the Discovery computes
   * them once per tick for every path, so the list may name this peer: it is skipped here), and
   * the set of their ids. Up to MAX_RELAYS_PER_PEER are held as routes. A route is kept for as
   * long as its relay stays an option, even when others now rank higher: a route dropped and added
   * again is probed at once, so following every wobble of the relays' RTTs would make jitter into
   * probes. One whose pings have gone unanswered for STALE_CANDIDATE_MS gives its place to the next
   * option (one merely not pinged that long, on an idle path, keeps it: a route re-added is pinged).
   * Costs O(MAX_RELAYS_PER_PEER), not O(relays): it runs for a path at each of its ticks, and for
   * every path when the set of relays changes. Returns whether it added or dropped a route.
   */
  setRelays(relays: readonly RelayOption[], ids: ReadonlySet<PeerId>, now: number): boolean {
    let held = 0;
    let changed = false;
    for (const [key, e] of this.routes) {
      if (e.route.type !== 'relay') continue;
      const stale =
        e.unansweredSince !== undefined &&
        now - e.unansweredSince > STALE_CANDIDATE_MS &&
        now - e.addedAt > STALE_CANDIDATE_MS;
      const option = e.route.via !== this.peer && ids.has(e.route.via);
      if (option && !(stale && e !== this.current)) {
        held++;
        continue;
      }
      this.routes.delete(key);
      changed = true;
      if (e === this.current) this.current = undefined;
    }
    for (const r of relays) {
      if (held >= MAX_RELAYS_PER_PEER) break;
      const route: Route = { type: 'relay', via: r.id, name: r.name, public: r.public };
      const key = routeKey(route);
      if (r.id === this.peer || this.routes.has(key)) continue;
      const e = new PathEvidence(route, 'relay', now, r.id);
      e.probeNowAt = now;
      this.routes.set(key, e);
      held++;
      changed = true;
    }
    return changed;
  }

  /**
   * Starts a burst: every route pinged at BURST_OFFSETS_MS from now (relays only while no direct
   * route carries the traffic). Returns false if one just began.
   */
  startBurst(now: number): boolean {
    if (now - this.burstAt < BURST_MIN_GAP_MS) return false;
    this.burstAt = now;
    this.burstStep = 0;
    return true;
  }

  /**
   * An authenticated ping from the peer arrived, from an endpoint or through a relay. On the path
   * in use it is evidence the path works, and an idle path's own keepalive ping waits a whole
   * IDLE_HEARTBEAT_MS from it: one ping and one pong per period keep both ends' NAT mappings
   * open, so only the end whose timer runs first pings. If the peer's pings stop, ours resume.
   */
  pinged(source: Source, now: number): void {
    const key = sourceKey(source);
    const heard = this.routes.get(key);
    if (heard && 'endpoint' in source) heard.heardAt = now;
    if (this.current?.key === key && !this.suspect(this.current, now)) {
      this.heardPingAt = now;
      this.idlePeriod = this.drawIdlePeriod();
      return;
    }
    if (!('endpoint' in source)) {
      // Through a relay we keep for it: a way in that may work out as well (it just restarted, or
      // its relay key came late). Asked back at once, as a direct one is below.
      if (heard && !heard.answeredWithin(ROAMED_ANSWER_MS, now) && now - heard.lastSentAt >= SUSPECT_PING_MS)
        heard.probeNowAt = now;
      return;
    }
    let e = heard;
    if (e === undefined) {
      e = this.candidates.observed(source.endpoint, now);
      e.heardAt = now;
    }
    // Roaming: the peer sends from here now; find out at once whether it also answers here, and
    // whether it still answers where we send (an idle path's own ping may be a heartbeat away, and
    // only an unanswered one lets decide() see the peer roamed).
    if (!e.answeredWithin(ROAMED_ANSWER_MS, now) && now - e.lastSentAt >= SUSPECT_PING_MS) e.probeNowAt = now;
    if (e !== this.current) this.recheck(now);
  }

  /**
   * The direct path in use is pinged now, unless it answered or was asked just now: the peer may
   * have moved (its pings come from elsewhere), or we may have (a path of ours to another peer just
   * died). An idle path's next ping is up to IDLE_HEARTBEAT_MS away. True if a ping is due.
   */
  recheck(now: number): boolean {
    const cur = this.current;
    if (cur?.route.type !== 'direct' || cur.answeredWithin(ROAMED_ANSWER_MS, now)) return false;
    if (now - cur.lastSentAt < SUSPECT_PING_MS) return false;
    cur.probeNowAt = now;
    return true;
  }

  /**
   * A pong. Credited only to the route the ping went out on, and only when it came back the same way:
   * anything else is an unknown txid or an asymmetric path, and moves nothing.
   */
  ponged(txid: Uint8Array, from: Source, now: number, rttMs?: number): PathEvidence | undefined {
    const id = hex(txid);
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    const e = this.routes.get(p.key);
    if (e === undefined || sourceKey(from) !== p.key) return undefined;
    this.pending.delete(id);
    // The data path's timing when the node has it (it lies within the tick clock's), else the tick's.
    e.answered(rttMs !== undefined && rttMs >= 0 ? rttMs : now - p.sentAt, now);
    if (e.route.type === 'direct' && this.current?.route.type !== 'direct' && e.streak === 1) {
      e.confirmAt = now + CONFIRM_PING_MS;
    }
    return e;
  }

  /**
   * The peer said it opened its NAT toward us (opening.ts): the addresses we were only opening are
   * pinged whole, now.
   */
  peerOpened(now: number): void {
    this.opening.peerOpened(now);
    for (const e of this.routes.values()) if (Opening.waiting(e)) e.probeNowAt = now;
  }

  /**
   * Probes due now, path decisions, and when to call again; `tell`: the relays to send 'opened'
   * through, when this tick opened our NAT toward addresses of the peer's that never answered.
   */
  tick(now: number): { probes: Probe[]; changed: PathChanged[]; nextWakeAt: number; tell: PeerId[] } {
    this.opened = false;
    this.expirePings(now);
    this.candidates.ageOut(now);
    // The peer shares our NAT when one of its public candidates is an IP peers see us at.
    const ours = this.options.ourReflexiveIps();
    this.sameNat = [...this.routes.values()].some(
      (e) => e.route.type === 'direct' && e.route.publicIp !== undefined && ours.has(e.route.publicIp),
    );
    const changed: PathChanged[] = [];
    const decided = this.decide(now);
    if (decided) changed.push(decided);
    const due = new Set<PathEvidence>();
    this.dueBurst(now, due);
    this.dueHeartbeat(now, due);
    this.dueAlternatives(now, due);
    for (const e of this.routes.values()) {
      if (e.confirmAt !== undefined && now >= e.confirmAt) {
        e.confirmAt = undefined;
        due.add(e);
      }
      if (e.probeNowAt !== undefined && now >= e.probeNowAt) {
        e.probeNowAt = undefined;
        due.add(e);
      }
    }
    // A route that never answered may be anyone's address: its ping is paid for, or not sent. The
    // least recently pinged go first, so no member's addresses crowd out another's on a spent budget.
    const unanswered = (e: PathEvidence) => e.route.type === 'direct' && e.lastAnsweredAt === undefined;
    const paid = [...due].filter(unanswered).sort((a, b) => a.lastSentAt - b.lastSentAt);
    const probes = [...due].filter((e) => !unanswered(e)).map((e) => this.probe(e, now));
    for (const e of paid)
      if (this.options.budget.spend(this.peer, e.namedBy, now)) probes.push(this.probe(e, now));
    const tell: PeerId[] = [];
    // Once direct, the peer needs no more of it (a relay would carry it for every stale address).
    const direct = this.current?.route.type === 'direct';
    if (this.opened && !direct && (this.options.canTell?.() ?? false))
      for (const e of this.routes.values()) if (e.route.type === 'relay') tell.push(e.route.via);
    return { probes, changed, nextWakeAt: this.nextWakeAt(now), tell };
  }

  snapshot(now: number): {
    choice: PathChoice;
    reason: PathReason;
    sinceMs: number;
    rttMs?: number;
    lossPct?: number;
    evidenceAgeMs?: number;
    sameNat: boolean;
    candidates: CandidateSnapshot[];
    timeToDirectMs?: number;
  } {
    const c = this.current;
    const candidates = [...this.routes.values()].map((e) => e.describe(now));
    return {
      choice: this.choice(),
      reason: this.lastReason,
      sinceMs: Math.round(now - this.currentSince),
      ...(c?.shownRttMs !== undefined && { rttMs: Math.round(c.shownRttMs * 100) / 100 }),
      ...(c !== undefined && c.tries > 0 && { lossPct: Math.round(c.loss * 100) }),
      ...(c?.lastAnsweredAt !== undefined && { evidenceAgeMs: Math.round(now - c.lastAnsweredAt) }),
      sameNat: this.sameNat,
      candidates,
      ...(this.firstDirectAt !== undefined && {
        timeToDirectMs: Math.round(this.firstDirectAt - this.startedAt),
      }),
    };
  }

  // --- decisions -------------------------------------------------------------------------------

  private decide(now: number): PathChanged | undefined {
    const cur = this.current;
    const directs = [...this.routes.values()].filter((e) => e.route.type === 'direct');
    const best = (list: PathEvidence[]) =>
      list.reduce<PathEvidence | undefined>(
        (a, b) => (a === undefined || this.cost(b) < this.cost(a) ? b : a),
        undefined,
      );

    // The path in use died: every alternative is tried at once (an idle path's were tried long ago).
    if (cur !== undefined && this.dead(cur, now)) this.alternativesAt = Math.min(this.alternativesAt, now);
    if (cur?.route.type === 'direct') {
      if (this.dead(cur, now)) {
        const next = best(directs.filter((e) => e !== cur && e.usable(now))) ?? this.bestRelay(now);
        return this.switchTo(next, 'direct-lost', now);
      }
      const others = directs.filter((e) => e !== cur && e.usable(now));
      // The path in use went quiet while another just answered: the peer roamed or a link changed.
      if (this.suspect(cur, now)) {
        const alive = best(others.filter((e) => e.answeredWithin(ROAMED_ANSWER_MS, now)));
        if (alive) return this.switchTo(alive, 'roamed', now);
        return undefined;
      }
      const better = best(others);
      if (better && this.cost(better) < SWITCH_RATIO * this.cost(cur) - SWITCH_MIN_GAIN_MS) {
        return this.switchTo(better, 'better-rtt', now);
      }
      return undefined;
    }

    // Relayed or no path: a direct route that answered takes over — twice in a row when it would
    // replace a working relay, so one stray pong on a flapping link does not bounce the traffic. A
    // relay taken only while the first burst punches is no such path yet: a first answer is enough
    // (an opened NAT answers a relay trip later than a punched one, opening.ts).
    const stopgap = this.lastReason === 'relay-while-probing' && now - this.currentSince < DIRECT_DEADLINE_MS;
    const needed = cur === undefined || stopgap ? 1 : 2;
    const direct = best(directs.filter((e) => e.usable(now) && e.streak >= needed));
    if (direct) return this.switchTo(direct, cur === undefined ? 'direct-found' : 'direct-returned', now);
    if (cur === undefined) {
      // Only a relay that answered: a guess would send a member that is down (or not up yet)
      // its messages along a path nobody has seen work.
      const relay = this.bestRelay(now);
      if (!relay?.usable(now)) return undefined;
      // Before the deadline the relay carries the first packets while the direct candidates are
      // still being punched, and a direct route that answers twice takes over moments later.
      const probing = now - this.noneSince < DIRECT_DEADLINE_MS;
      return this.switchTo(relay, probing ? 'relay-while-probing' : 'no-direct-answer', now);
    }
    if (this.dead(cur, now)) {
      // Another relay only if it answers: when none does, the peer itself is gone (offline), and
      // swapping between silent relays would say so once a second for as long as it stays away.
      const relay = this.bestRelay(now, cur);
      return relay?.usable(now)
        ? this.switchTo(relay, 'relay-lost', now)
        : this.switchTo(undefined, 'unreachable', now);
    }
    return undefined;
  }

  /** The peer said bye: no route of ours is known to work until it answers again. */
  left(now: number): PathChanged | undefined {
    for (const e of this.routes.values()) e.forget();
    return this.switchTo(undefined, 'peer-left', now);
  }

  private switchTo(next: PathEvidence | undefined, reason: PathReason, now: number): PathChanged | undefined {
    if (next === this.current) return undefined;
    this.current = next;
    this.currentSince = now;
    this.heardPingAt = Number.NEGATIVE_INFINITY;
    this.lastReason = reason;
    if (next === undefined) this.noneSince = now;
    if (next?.route.type === 'direct' && this.firstDirectAt === undefined) this.firstDirectAt = now;
    const choice = this.choice();
    return { peer: this.options.peer, ...choice, reason, at: now };
  }

  /** Relays: ones that answer first, public members first among them, then by RTT. */
  private bestRelay(now: number, except?: PathEvidence): PathEvidence | undefined {
    const relays = [...this.routes.values()].filter(
      (e) => e.route.type === 'relay' && e !== except && !e.neverAnswered,
    );
    const rank = (e: PathEvidence) =>
      (e.usable(now) ? 0 : 2) + (e.route.type === 'relay' && e.route.public ? 0 : 1);
    relays.sort((a, b) => rank(a) - rank(b) || a.score() - b.score());
    return relays[0];
  }

  /** Cost of a direct route; sharing a NAT makes LAN addresses the preferred kind (rank, not just RTT). */
  private cost(e: PathEvidence): number {
    const lanBias = this.sameNat && e.route.type === 'direct' && e.route.kind !== 'lan' ? 10 : 0;
    return e.score() + lanBias;
  }

  /** How long the path's oldest unanswered ping has waited (since it became the path in use, at most). */
  private silentFor(e: PathEvidence, now: number): number {
    if (e.unansweredSince === undefined) return 0;
    return now - Math.max(e.unansweredSince, this.currentSince);
  }

  private suspect(e: PathEvidence, now: number): boolean {
    return this.silentFor(e, now) > SUSPECT_AFTER_MS + (e.srttMs ?? 0);
  }

  private dead(e: PathEvidence, now: number): boolean {
    return this.silentFor(e, now) > DEAD_AFTER_MS + 2 * (e.srttMs ?? 0);
  }

  // --- probing ---------------------------------------------------------------------------------

  private dueBurst(now: number, due: Set<PathEvidence>): void {
    let stepped = false;
    while (
      this.burstStep < BURST_OFFSETS_MS.length &&
      now >= this.burstAt + BURST_OFFSETS_MS[this.burstStep]!
    ) {
      this.burstStep++;
      stepped = true;
    }
    if (!stepped) return;
    // A burst punches holes, and a relay route needs none: once a direct route carries the traffic,
    // relays are the fallback, probed on their own schedule (dueAlternatives). Until then they are
    // pinged with the rest, so one has answered by DIRECT_DEADLINE_MS if no direct route does.
    const onDirect = this.current?.route.type === 'direct';
    for (const e of this.routes.values()) if (!onDirect || e.route.type === 'direct') due.add(e);
  }

  private dueHeartbeat(now: number, due: Set<PathEvidence>): void {
    const c = this.current;
    if (c !== undefined && now >= this.heartbeatAt(c, now)) due.add(c);
  }

  /** When the path in use is pinged next: often while suspect or busy; idle, a keepalive period after the last ping either way. */
  private heartbeatAt(c: PathEvidence, now: number): number {
    if (this.suspect(c, now)) return c.lastSentAt + SUSPECT_PING_MS;
    if (this.active) return c.lastSentAt + HEARTBEAT_MS;
    return Math.max(c.lastSentAt, this.heardPingAt) + this.idlePeriod;
  }

  private drawIdlePeriod(): number {
    return IDLE_HEARTBEAT_MS * (0.8 + 0.2 * this.options.random());
  }

  private dueAlternatives(now: number, due: Set<PathEvidence>): void {
    if (now < this.alternativesAt) return;
    this.alternativesAt = now + this.alternativeInterval();
    const onDirect = this.current?.route.type === 'direct';
    for (const e of this.routes.values()) {
      if (e === this.current) continue;
      // On a working direct path, long-silent candidates are tried rarely: they cost every peer packets.
      const stale = !e.answeredWithin(STALE_CANDIDATE_MS, now) && now - e.addedAt > STALE_CANDIDATE_MS;
      if (onDirect && stale && now - e.lastSentAt < SLOW_PROBE_MS) continue;
      if (onDirect && e.route.type === 'relay' && now - e.lastSentAt < RELAY_PROBE_ON_DIRECT_MS) continue;
      due.add(e);
    }
  }

  private probe(e: PathEvidence, now: number): Probe {
    const txid = new Uint8Array(TXID_SIZE);
    for (let i = 0; i < TXID_SIZE; i++) txid[i] = Math.floor(this.options.random() * 256);
    if (this.pending.size >= MAX_PENDING_PINGS) this.expireOldest();
    this.pending.set(hex(txid), { key: e.key, sentAt: now });
    e.sent(now);
    if (e === this.current) this.idlePeriod = this.drawIdlePeriod();
    if (e.route.type === 'relay') return { txid, via: e.route.via };
    // An opener or a whole ping, either opens our NAT toward the address: the peer is told so.
    if (Opening.waiting(e)) this.opened = true;
    const canTell = this.options.canTell?.() ?? false;
    const ours = this.options.ourPublicAddress?.() ?? false;
    const ttl = this.opening.ttlFor(e, this.candidates.behindNat, canTell, now, ours);
    return ttl === undefined
      ? { txid, endpoint: e.route.endpoint }
      : { txid, endpoint: e.route.endpoint, ttl };
  }

  private expirePings(now: number): void {
    for (const [id, p] of this.pending) {
      if (now - p.sentAt < PONG_TIMEOUT_MS) continue;
      this.pending.delete(id);
      this.routes.get(p.key)?.lost();
    }
  }

  private expireOldest(): void {
    const [id, p] = this.pending.entries().next().value!;
    this.pending.delete(id);
    this.routes.get(p.key)?.lost();
  }

  private nextWakeAt(now: number): number {
    const times: number[] = [this.alternativesAt];
    if (this.burstStep < BURST_OFFSETS_MS.length)
      times.push(this.burstAt + BURST_OFFSETS_MS[this.burstStep]!);
    for (const p of this.pending.values()) times.push(p.sentAt + PONG_TIMEOUT_MS);
    for (const e of this.routes.values()) {
      if (e.confirmAt !== undefined) times.push(e.confirmAt);
      if (e.probeNowAt !== undefined) times.push(e.probeNowAt);
    }
    const c = this.current;
    if (c !== undefined) {
      times.push(this.heartbeatAt(c, now));
      if (c.unansweredSince !== undefined) {
        const since = Math.max(c.unansweredSince, this.currentSince);
        times.push(
          since + SUSPECT_AFTER_MS + (c.srttMs ?? 0) + 1,
          since + DEAD_AFTER_MS + 2 * (c.srttMs ?? 0) + 1,
        );
      }
    } else times.push(this.noneSince + DIRECT_DEADLINE_MS);
    return Math.max(now + 1, Math.min(...times.filter((t) => t > now - 1)));
  }

  private alternativeInterval(): number {
    const base = this.activeNow ? ALTERNATIVE_PROBE_MS : IDLE_ALTERNATIVE_PROBE_MS;
    return base + this.options.random() * ALTERNATIVE_PROBE_JITTER_MS;
  }
}
