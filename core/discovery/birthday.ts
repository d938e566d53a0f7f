/**
 * Birthday probing (issue 13, point 3): a direct path between a member behind a NAT that keeps a
 * socket's port for every destination (endpoint-independent mapping, RFC 4787 §4.1: "easy") and one
 * behind a NAT that picks a new port per destination ("hard": iptables MASQUERADE --random-fully,
 * many carrier NATs), when no port mapping is offered. As an I/O-free state machine: messages and
 * time in, sends and socket decisions out.
 *
 * Ordinary hole punching fails there: the hard side's probes leave its NAT from a port nobody can
 * predict, and the easy side's probes go to the port a third member saw, which is mapped only
 * toward that member. So the hard side opens BIRTHDAY_HOLES extra sockets and sends one ping from
 * each to the easy side's public endpoint: each is a mapping, at a random port of the hard side's
 * public IP, that lets in what comes back from exactly that endpoint. The easy side then pings
 * random ports of that IP; with 256 holes among the 64,512 ports above 1023 each ping finds one
 * with probability 1/252, so 2048 find one with probability 1 - (1 - 1/252)^2048 > 99.9%, in 2.5 s
 * on average at BIRTHDAY_PROBES_PER_SECOND (the birthday paradox, one side fixed). The ping that
 * lands arrives on hole k; the hard side answers from hole k, pings back from it, and from then on
 * sends that peer's traffic from it (`holeFor`); the ordinary path machinery (PeerPath) takes it
 * from there, peer-reflexive address and all.
 *
 * Three messages, through the relay that carries the pair meanwhile, order it:
 *   hard → easy  step 1 'hard'   I am behind a per-destination NAT and can open holes toward you.
 *   easy → hard  step 2 'ready'  My NAT keeps ports: open them, I will probe.
 *   hard → easy  step 3 'open'   They are open (the pings from them left before this): probe now.
 * Two hard sides each send step 1 and refuse the other's: no hole is opened, no probe sent, and
 * each tries again only after BIRTHDAY_BACKOFF_MS.
 *
 * What a member can make us do with these (issue 10's attacker, a member): nothing toward anyone
 * but itself. Each side aims only at an IP that two say is the peer's: an introducer we asked saw
 * the peer there (`seen`, the first candidate of an introduction: its packets' real source), and
 * the peer itself lists it in its own signed endpoint record (`vouched`: a reflexive, mapped or
 * public candidate). An introducer alone, lying or colluding, cannot aim our 2048 probes (or the
 * hard side's BIRTHDAY_HOLES pings) at a third party's IP: the peer's record does not list it, and
 * the step is refused and counted (birthdayRefused). To do it the peer must sign that IP as its own,
 * a statement every member holds and can show. A new record of the peer's that drops the IP ends
 * the attempt at the next tick. One attempt runs at a time on a node, whichever its role and
 * however many peers ask: at most BIRTHDAY_HOLES sockets (and one kept per peer that won, at most
 * MAX_KEPT_HOLES), at most BIRTHDAY_PROBES_PER_SECOND probes; each attempt spends at most
 * BIRTHDAY_PROBES; a peer gets another attempt only BIRTHDAY_BACKOFF_MS after its last one ended
 * without a direct path, whoever asked. A step out of order is counted and changes nothing.
 */
import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { OPENER_TTL, TXID_SIZE } from './constants.js';
import { addressScope, behindNat } from './endpointClass.js';
import type { BirthdayStep, DiscoveryMessage } from './messages.js';
import type { NatBehaviour } from './natBehaviour.js';
import type { DiscoverySend } from './pathTypes.js';

/** Sockets the hard side opens per attempt, each with its own mapping at its NAT. */
export const BIRTHDAY_HOLES = 256;
/** Probes the easy side sends per attempt at most (issue 13: ≤ 2048). */
export const BIRTHDAY_PROBES = 2048;
/** ...at this rate (issue 13: about 100 packets/s), in batches every BIRTHDAY_PROBE_TICK_MS. */
export const BIRTHDAY_PROBES_PER_SECOND = 100;
export const BIRTHDAY_PROBE_TICK_MS = 50;
/** A peer is tried again no sooner than this after an attempt with it ended without a direct path. */
export const BIRTHDAY_BACKOFF_MS = 60_000;
/**
 * A pair is tried once its path has not been direct for this long since an introducer told us where
 * the peer is: the introduction's burst (DIRECT_DEADLINE_MS) had its chance first.
 */
export const BIRTHDAY_AFTER_MS = 4_000;
/** The other side's step is awaited this long (it travels through a relay: tens of ms). */
export const BIRTHDAY_REPLY_MS = 3_000;
/** After its last probe the easy side waits this long for the path to go direct before it gives up. */
export const BIRTHDAY_GRACE_MS = 3_000;
/**
 * The hard side keeps its holes this long: the easy side's probes take BIRTHDAY_PROBES at
 * BIRTHDAY_PROBES_PER_SECOND (20.5 s) and its grace, and a mapping nobody answered lives 30 s in
 * Linux conntrack (nf_conntrack_udp_timeout), so one ping per hole is enough.
 */
export const BIRTHDAY_HOLES_MS =
  (BIRTHDAY_PROBES / BIRTHDAY_PROBES_PER_SECOND) * 1000 + BIRTHDAY_GRACE_MS + BIRTHDAY_REPLY_MS;
/** Winning holes kept (one per peer) at most; a new win beyond it is not taken. */
export const MAX_KEPT_HOLES = 64;
/** The easy side probes ports from here up: below it NATs rarely map. */
export const BIRTHDAY_LOWEST_PORT = 1024;

/** A message for the peer on whatever path carries it now (a relay), a probe, or a hole's ping. */
export type BirthdaySend =
  | { readonly to: PeerId; readonly message: DiscoveryMessage }
  | Pick<DiscoverySend, 'to' | 'endpoint' | 'hole' | 'ttl' | 'message'>;

export interface BirthdayOutput {
  readonly send: BirthdaySend[];
  /** Peers whose holes (sockets) should be closed now, but `keep` (the winner), if set. */
  readonly close: { readonly peer: PeerId; readonly keep?: number }[];
}

export interface BirthdayCounters {
  readonly birthdayAttempts: number;
  readonly birthdayDirect: number;
  readonly birthdayFailed: number;
  /** Step messages refused: our NAT is hard too, the peer was in back-off, another attempt ran... */
  readonly birthdayRefused: number;
  readonly birthdayProbes: number;
  readonly birthdayHoles: number;
}

type Attempt =
  | {
      readonly peer: PeerId;
      readonly role: 'hard';
      phase: 'asked' | 'open';
      at: number;
      readonly toward: Endpoint;
    }
  | {
      readonly peer: PeerId;
      readonly role: 'easy';
      phase: 'waiting' | 'probing';
      at: number;
      readonly ip: string;
      sent: number;
      readonly tried: Set<number>;
    };

interface PeerState {
  /** Where an introducer we asked saw the peer, and since when it has not been direct. */
  seen?: Endpoint;
  since: number;
  retryAt: number;
  /** The hole that won: the peer's traffic to `endpoint` leaves from it. */
  won?: { endpoint: Endpoint; hole: number };
}

export class Birthday {
  private readonly peers = new Map<PeerId, PeerState>();
  private attempt: Attempt | undefined;
  private kept = 0;
  private checkAt = Number.NEGATIVE_INFINITY;
  /** When an attempt could start next (as the hard side): the wake asked for while none runs. */
  private startAt = Number.POSITIVE_INFINITY;
  /** Holes of peers that left, to close at the next tick. */
  private closing: { peer: PeerId }[] = [];
  private counters = {
    birthdayAttempts: 0,
    birthdayDirect: 0,
    birthdayFailed: 0,
    birthdayRefused: 0,
    birthdayProbes: 0,
    birthdayHoles: 0,
  };

  /** `vouched(peer)`: the endpoints of the peer's own signed endpoint record, as the roster verified it. */
  constructor(
    private readonly random: () => number,
    private readonly vouched: (peer: PeerId) => readonly Endpoint[] | undefined,
  ) {}

  get stats(): BirthdayCounters {
    return { ...this.counters };
  }

  /** An introducer we asked saw `peer` at `endpoint` (the first candidate of its introduction). */
  seen(peer: PeerId, e: Endpoint | undefined, now: number): void {
    if (e === undefined || addressScope(e.address) !== 'public') return;
    const s = this.state(peer, now);
    s.seen = e;
    this.startAt = Math.min(this.startAt, this.checkAt);
  }

  /** Peer `id` left the roster: its state goes, and an attempt with it ends (its holes close at the next tick). */
  forget(id: PeerId): void {
    const s = this.peers.get(id);
    this.peers.delete(id);
    if (s?.won !== undefined) this.kept--;
    if (s?.won !== undefined || (this.attempt?.peer === id && this.attempt.role === 'hard'))
      this.closing.push({ peer: id });
    if (this.attempt?.peer === id) this.attempt = undefined;
  }

  /** The hole `peer`'s datagrams to `endpoint` leave from, if one won. */
  holeFor(peer: PeerId, endpoint: Endpoint): number | undefined {
    const won = this.peers.get(peer)?.won;
    return won !== undefined && sameEndpoint(won.endpoint, endpoint) ? won.hole : undefined;
  }

  /**
   * An authenticated message from `peer`, from `endpoint`, arrived on our hole `hole`: during our
   * attempt with it, that hole won (the first to hear from the address the holes were opened toward).
   */
  heardOnHole(peer: PeerId, endpoint: Endpoint, hole: number): void {
    const a = this.attempt;
    const s = this.peers.get(peer);
    if (s === undefined || s.won !== undefined) return;
    if (a?.peer !== peer || a.role !== 'hard' || a.phase !== 'open') return;
    if (!Number.isInteger(hole) || hole < 1 || hole > BIRTHDAY_HOLES) return;
    if (endpoint.address !== a.toward.address) return;
    if (this.kept >= MAX_KEPT_HOLES) return;
    s.won = { endpoint, hole };
    this.kept++;
  }

  /**
   * A step from `peer`; `nat` is what our own NAT is, `direct` whether we reach the peer directly.
   */
  receive(peer: PeerId, step: BirthdayStep, nat: NatBehaviour, direct: boolean, now: number): BirthdayOutput {
    const out: BirthdayOutput = { send: [], close: [] };
    const s = this.peers.get(peer);
    const a = this.attempt;
    if (step === 'hard') {
      const easy = nat === 'endpoint-independent' || nat === 'none';
      const ip = s?.seen?.address;
      // The IP must be the peer's by its own signed word too, not an introducer's alone.
      const vouched = ip !== undefined && this.vouches(peer, ip);
      if (!easy || direct || s === undefined || !vouched || now < s.retryAt || a !== undefined) {
        this.counters.birthdayRefused++;
        return out;
      }
      this.attempt = { peer, role: 'easy', phase: 'waiting', at: now, ip, sent: 0, tried: new Set() };
      s.retryAt = Number.POSITIVE_INFINITY;
      this.counters.birthdayAttempts++;
      out.send.push({ to: peer, message: { kind: 'birthday', step: 'ready' } });
      return out;
    }
    // The easy peer's record must still list the IP the holes open toward (tick ends it otherwise).
    if (step === 'ready' && a?.peer === peer && a.role === 'hard' && a.phase === 'asked' && this.aimed(a)) {
      a.phase = 'open';
      a.at = now;
      const txid = this.txid();
      // Openers toward a peer that may sit behind a NAT (opening.ts): whole, each would hold at an
      // easy NAT without a firewall the very pair the probe that finds its hole needs.
      const ttl = behindNat(this.vouched(peer) ?? []) ? { ttl: OPENER_TTL } : {};
      for (let hole = 1; hole <= BIRTHDAY_HOLES; hole++)
        out.send.push({ to: peer, endpoint: a.toward, hole, ...ttl, message: { kind: 'ping', txid } });
      this.counters.birthdayHoles += BIRTHDAY_HOLES;
      out.send.push({ to: peer, message: { kind: 'birthday', step: 'open' } });
      return out;
    }
    if (step === 'open' && a?.peer === peer && a.role === 'easy' && a.phase === 'waiting') {
      a.phase = 'probing';
      a.at = now;
      return out;
    }
    this.counters.birthdayRefused++;
    return out;
  }

  /**
   * Probes and steps due by `now`, and attempts that end. `nat`: our own NAT; `notDirect`: the peers
   * we do not reach directly. Returns when it wants to run next.
   */
  tick(now: number, nat: NatBehaviour, notDirect: ReadonlySet<PeerId>): BirthdayOutput & { wakeAt: number } {
    const out: BirthdayOutput = { send: [], close: this.closing };
    this.closing = [];
    const a = this.attempt;
    if (a !== undefined) {
      const direct = !notDirect.has(a.peer);
      if (direct) this.end(a, true, now, out);
      // The peer's newest record no longer lists the IP we aim at: it may be anybody's now.
      else if (!this.aimed(a)) this.end(a, false, now, out);
      else if (a.role === 'easy') this.tickEasy(a, now, out);
      else this.tickHard(a, now, out);
    }
    // Whom to try is looked at once a second: it costs a pass over the peers without a direct path.
    if (this.attempt === undefined && now >= this.checkAt) {
      this.checkAt = now + 1_000;
      this.startAt = Math.max(this.checkAt, this.maybeStart(now, nat, notDirect, out));
    }
    return { ...out, wakeAt: this.wakeAt(now) };
  }

  private tickEasy(a: Extract<Attempt, { role: 'easy' }>, now: number, out: BirthdayOutput): void {
    if (a.phase === 'waiting') {
      if (now - a.at >= BIRTHDAY_REPLY_MS) this.end(a, false, now, out);
      return;
    }
    if (a.sent >= BIRTHDAY_PROBES) {
      if (now - a.at >= BIRTHDAY_GRACE_MS) this.end(a, false, now, out);
      return;
    }
    const allowed = Math.min(
      BIRTHDAY_PROBES,
      Math.floor(((now - a.at) * BIRTHDAY_PROBES_PER_SECOND) / 1000) +
        (BIRTHDAY_PROBES_PER_SECOND * BIRTHDAY_PROBE_TICK_MS) / 1000,
    );
    for (; a.sent < allowed; a.sent++) {
      const port = this.freshPort(a.tried);
      out.send.push({
        to: a.peer,
        endpoint: { address: a.ip, port },
        message: { kind: 'ping', txid: this.txid() },
      });
      this.counters.birthdayProbes++;
    }
    // The grace counts from the last probe.
    if (a.sent >= BIRTHDAY_PROBES) a.at = now;
  }

  private tickHard(a: Extract<Attempt, { role: 'hard' }>, now: number, out: BirthdayOutput): void {
    const limit = a.phase === 'asked' ? BIRTHDAY_REPLY_MS : BIRTHDAY_HOLES_MS;
    if (now - a.at >= limit) this.end(a, false, now, out);
  }

  /**
   * As the hard side: the first peer without a direct path whose introducer saw it, not in back-off.
   * Returns when one could start next, if none did (+Infinity: not before something changes).
   */
  private maybeStart(
    now: number,
    nat: NatBehaviour,
    notDirect: ReadonlySet<PeerId>,
    out: BirthdayOutput,
  ): number {
    for (const [id, s] of this.peers) {
      if (!notDirect.has(id)) s.since = now;
    }
    if (nat !== 'endpoint-dependent') return Number.POSITIVE_INFINITY;
    let next = Number.POSITIVE_INFINITY;
    for (const id of notDirect) {
      const s = this.peers.get(id);
      if (s?.seen === undefined || !this.vouches(id, s.seen.address)) continue;
      const eligibleAt = Math.max(s.retryAt, s.since + BIRTHDAY_AFTER_MS);
      if (eligibleAt > now) {
        next = Math.min(next, eligibleAt);
        continue;
      }
      // A hole that won before and no longer carries the peer: it goes, and new ones are opened.
      if (s.won !== undefined) {
        s.won = undefined;
        this.kept--;
        out.close.push({ peer: id });
      }
      this.attempt = { peer: id, role: 'hard', phase: 'asked', at: now, toward: s.seen };
      s.retryAt = Number.POSITIVE_INFINITY;
      this.counters.birthdayAttempts++;
      out.send.push({ to: id, message: { kind: 'birthday', step: 'hard' } });
      return Number.POSITIVE_INFINITY;
    }
    return next;
  }

  /** The attempt ends: direct (its winning hole stays) or not (every hole goes, and the peer backs off). */
  private end(a: Attempt, direct: boolean, now: number, out: BirthdayOutput): void {
    this.attempt = undefined;
    this.startAt = this.checkAt;
    const s = this.peers.get(a.peer);
    if (direct) this.counters.birthdayDirect++;
    else this.counters.birthdayFailed++;
    if (s !== undefined) {
      s.retryAt = now + BIRTHDAY_BACKOFF_MS;
      if (!direct && s.won !== undefined) {
        s.won = undefined;
        this.kept--;
      }
    }
    if (a.role === 'hard' && a.phase === 'open') out.close.push({ peer: a.peer, keep: s?.won?.hole });
  }

  private wakeAt(now: number): number {
    const a = this.attempt;
    if (this.closing.length > 0) return now;
    if (a === undefined) return Math.max(this.startAt, now);
    if (a.role === 'easy' && a.phase === 'probing') {
      return a.sent >= BIRTHDAY_PROBES ? a.at + BIRTHDAY_GRACE_MS : now + BIRTHDAY_PROBE_TICK_MS;
    }
    if (a.role === 'easy') return a.at + BIRTHDAY_REPLY_MS;
    return a.at + (a.phase === 'asked' ? BIRTHDAY_REPLY_MS : BIRTHDAY_HOLES_MS);
  }

  /** Whether the peer's own signed record lists the IP the attempt aims at. */
  private aimed(a: Attempt): boolean {
    return this.vouches(a.peer, a.role === 'easy' ? a.ip : a.toward.address);
  }

  /** Whether `peer`'s own signed record lists an endpoint at `ip`. */
  private vouches(peer: PeerId, ip: string): boolean {
    return (this.vouched(peer) ?? []).some((c) => c.address === ip);
  }

  private state(peer: PeerId, now: number): PeerState {
    let s = this.peers.get(peer);
    if (s === undefined) {
      s = { since: now, retryAt: Number.NEGATIVE_INFINITY };
      this.peers.set(peer, s);
    }
    return s;
  }

  /** A port not yet probed in this attempt: a few random draws, then the next free one up. */
  private freshPort(tried: Set<number>): number {
    const span = 65536 - BIRTHDAY_LOWEST_PORT;
    let port = BIRTHDAY_LOWEST_PORT + Math.floor(this.random() * span);
    for (let i = 0; i < 8 && tried.has(port); i++)
      port = BIRTHDAY_LOWEST_PORT + Math.floor(this.random() * span);
    for (let i = 0; i < span && tried.has(port); i++)
      port = BIRTHDAY_LOWEST_PORT + ((port - BIRTHDAY_LOWEST_PORT + 1) % span);
    tried.add(port);
    return port;
  }

  private txid(): Uint8Array {
    const txid = new Uint8Array(TXID_SIZE);
    for (let i = 0; i < TXID_SIZE; i++) txid[i] = Math.floor(this.random() * 256);
    return txid;
  }
}
