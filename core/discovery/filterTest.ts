/**
 * Whether our NAT lets in a datagram it was never asked for, and if not, whether a firewall dropped
 * it or the router kept it (issue 13 point 4, "firewall or none"; RFC 4787 §5 filtering, RFC 5780
 * §4.4's test), measured with the mesh alone, as an I/O-free state machine.
 *
 * A member (the helper) sends one small sealed datagram to where our ask came from, from a socket
 * opened for it alone, and tells us over our path that it did, and from which port. If it got in,
 * our NAT admits what it was not asked for ('open': endpoint-independent or address-dependent
 * filtering, or a port the router forwards to us; every member is one we ping, so "from a port never
 * sent to", no more). If not, a Linux NAT either dropped it in a firewall (no trace) or, with no
 * filter rules, kept it as an unreplied connection of its own, which holds the pair (helper's fresh
 * port, our public port). So we knock at the fresh port from the socket the ask left from, and the
 * helper says from which port the knock came: the ask's, nothing held the pair ('firewall');
 * another while our NAT keeps ports, the pair was taken ('no-firewall', the NAT openers exist for,
 * opening.ts). From a NAT that maps per destination it says nothing, nor does an unanswered knock:
 * 'filtered'. Checked against iptables in namespaces (test/natFilter.test.ts). Without the
 * helper's word nothing is concluded. Ask and knock leave from a socket of the test's own
 * (FILTER_HOLE), never our main one; the helper probes our listen port too, so that a port the router
 * forwards shows as 'open'.
 *
 *   we → helper   ask   {nonce}                 directly, from the test's socket
 *   helper → we   probe {nonce}                 from a fresh socket each, to our listen port and to the ask's endpoint
 *   helper → we   sent  {nonce}                 from its main socket, to the ask's endpoint
 *   helper → we   port  {nonce, fresh port}     likewise (an older helper sends no 'port': 'filtered')
 *   we → helper   knock {nonce}                 from the test's socket to the fresh port
 *   helper → we   seen  {nonce, ask's port, knock's port}   to the ask's endpoint
 *
 * What a member can make a helper do (issue 10's attacker, a member): send two fixed-size datagrams
 * (14 bytes inside the seal) to the member itself, at the IP of the helper's direct path to it (a
 * round trip of sealed pings proved it is the member's): one to that path's endpoint, one to the
 * port the ask came from. Never to an address of the member's choosing, so no reflection toward a
 * third party and no amplification (one ask, two probes and two words back; one knock, one 'seen'
 * back, once per help). A member is helped once per FILTER_HELP_GAP_MS, everyone together
 * FILTER_HELPS_PER_MINUTE times a minute; the rest are refused and counted. The table of when each
 * member was last helped, and the one of knocks awaited (one per help, FILTER_KNOCK_WAIT_MS at
 * most), hold members only.
 */
import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { BIRTHDAY_HOLES } from './birthday.js';
import { TXID_SIZE } from './constants.js';
import { isPublicEndpoint } from './endpointClass.js';
import type { FilterTestMessage } from './messages.js';
import type { NatBehaviour } from './natBehaviour.js';
import type { DiscoverySend, Source } from './pathTypes.js';

/**
 * 'open': let in; 'firewall': dropped, no trace; 'no-firewall': dropped but kept by the router, which
 * then gives flows to that pair another port; 'filtered': dropped, which of the two unknown.
 */
export type Filtering = 'open' | 'firewall' | 'no-firewall' | 'filtered';

/** The first test this long after a direct path to a member exists (our mappings settle first). */
export const FILTER_TEST_FIRST_MS = 3_000;
/**
 * Tested again this often (a router may change); a test that concluded nothing is retried sooner,
 * twice as late after each in a row (helpers of an older version never answer), up to the former.
 */
export const FILTER_TEST_EVERY_MS = 600_000;
export const FILTER_TEST_RETRY_MS = 30_000;
/** The helper's word is awaited this long after the ask... */
export const FILTER_SENT_WAIT_MS = 3_000;
/** ...and, once it came, the probe (sent before it, on another socket) this long. */
export const FILTER_PROBE_WAIT_MS = 1_000;
/** After our knock, the helper's word where it came from, this long... */
export const FILTER_SEEN_WAIT_MS = 2_000;
/** ...and as the helper, the knock this long after the probe (its fresh socket stays open as long). */
export const FILTER_KNOCK_WAIT_MS = FILTER_PROBE_WAIT_MS + FILTER_SEEN_WAIT_MS + 2_000;
/** As a helper: each member at most once per this, all members together this many a minute. */
export const FILTER_HELP_GAP_MS = 60_000;
export const FILTER_HELPS_PER_MINUTE = 10;
/**
 * The port a helper's 'port' word carries until the I/O puts in its fresh socket's (one datagram's
 * socket, DiscoverySend.fresh): a placeholder that encodes, never one a socket has.
 */
export const FRESH_PORT = 0xffff;
/**
 * The socket of our ask and knock (a hole past birthday's), closed when the test ends. From our main
 * socket, a knock given another port made Linux give that port to every new flow of the socket (it
 * reuses a source's newest mapping), not the one peers announce: birthday probes missed their holes.
 */
export const FILTER_HOLE = BIRTHDAY_HOLES + 1;

export interface FilterCounters {
  readonly filterTestsHelped: number;
  /** Asks refused: not on our direct path to the member, or over its rate. */
  readonly filterTestsRefused: number;
}

interface Running {
  readonly helper: PeerId;
  /** Where we reach the helper directly: the probe must come from elsewhere to count. */
  readonly helperEndpoint: Endpoint;
  readonly nonce: Uint8Array;
  readonly at: number;
  sentAt?: number;
  /** The helper's fresh socket's port, from its 'port' word. */
  freshPort?: number;
  knockedAt?: number;
}

/** Our NAT as the vantage points see it: its mapping, our listen port, how many see us at it. */
export interface NatPorts {
  readonly mapping: NatBehaviour;
  /** Vantage points whose view of us is fresh, and how many of them see us at our listen port. */
  readonly vantagePoints: number;
  readonly keptToward: number;
  readonly listenPort: number | undefined;
}

/** As the helper: a knock awaited from a member we helped. */
interface Awaited {
  readonly nonce: Uint8Array;
  /** Where the member's ask came from, and where our words to it go. */
  readonly asked: Endpoint;
  readonly at: number;
}

export class FilterTest {
  private running: Running | undefined;
  private result: Filtering | null = null;
  private nextAt = Number.POSITIVE_INFINITY;
  /** While no test is due: when to look again for a helper (once a second, not on every step). */
  private checkAt = Number.NEGATIVE_INFINITY;
  /** Tests in a row that concluded nothing. */
  private fruitless = 0;
  /** The helper asked last: the next test asks another, where there is one. */
  private lastHelper = '';
  /** As a helper: when each member was last helped, and the helps of the current minute. */
  private readonly helped = new Map<PeerId, number>();
  /** Knocks awaited, one per member helped within FILTER_KNOCK_WAIT_MS (so ≤ FILTER_HELPS_PER_MINUTE). */
  private readonly knocks = new Map<PeerId, Awaited>();
  /** Helpers whose test ended: our socket for it (FILTER_HOLE) closes at the next tick. */
  private closing: PeerId[] = [];
  private minute = { start: Number.NEGATIVE_INFINITY, count: 0 };
  private counters = { filterTestsHelped: 0, filterTestsRefused: 0 };

  constructor(private readonly random: () => number) {}

  get stats(): FilterCounters {
    return { ...this.counters };
  }

  /** What the last test that concluded said; null before one did. */
  filtering(): Filtering | null {
    return this.result;
  }

  /** Our network changed (another LAN, another public IP): what we measured may not hold. */
  reset(now: number): void {
    this.result = null;
    this.end();
    this.fruitless = 0;
    this.nextAt = now + FILTER_TEST_FIRST_MS;
  }

  /** Member `id` left the roster. */
  forget(id: PeerId): void {
    this.helped.delete(id);
    this.knocks.delete(id);
    if (this.running?.helper === id) this.end();
  }

  /** The running test ends: its socket closes at the next tick. */
  private end(): void {
    if (this.running !== undefined) this.closing.push(this.running.helper);
    this.running = undefined;
  }

  /**
   * A filter-test step from member `from`, from `source`; `directTo` is the endpoint of our direct
   * path to it, if any; `nat` our NAT's mapping as the vantage points see it, and how many see us at
   * our own port. Returns what to send.
   */
  receive(
    from: PeerId,
    m: FilterTestMessage,
    source: Source,
    directTo: Endpoint | undefined,
    nat: NatPorts,
    now: number,
  ): DiscoverySend[] {
    const { mapping } = nat;
    const endpoint = 'endpoint' in source ? source.endpoint : undefined;
    if (m.step === 'ask') return this.help(from, m.nonce, endpoint, directTo, mapping === 'none', now);
    if (m.step === 'knock') return this.knocked(from, m.nonce, endpoint, now);
    const r = this.running;
    if (r === undefined || r.helper !== from || !sameBytes(r.nonce, m.nonce)) return [];
    if (m.step === 'sent') r.sentAt ??= now;
    else if (m.step === 'port') r.freshPort ??= m.ports?.[0];
    else if (m.step === 'seen') {
      if (r.knockedAt === undefined) return [];
      const [asked, knocked] = m.ports ?? [];
      this.conclude(verdict(asked!, knocked!, nat), now);
    }
    // The probe counts only from a socket that is not the helper's main one: that one we ping.
    else if (m.step === 'probe' && endpoint !== undefined && !sameEndpoint(endpoint, r.helperEndpoint))
      this.conclude('open', now);
    return [];
  }

  /**
   * A test due by `now`, and a running one that ends. `direct`: the members we reach directly, by
   * the endpoint we reach each at. Returns the sends and when to run next.
   */
  tick(
    now: number,
    direct: () => ReadonlyMap<PeerId, Endpoint>,
    unNatted: (id: PeerId) => boolean = () => false,
  ): { send: DiscoverySend[]; close: PeerId[]; wakeAt: number } {
    const send: DiscoverySend[] = [];
    const r = this.running;
    if (r !== undefined) {
      // No word where the knock came from (lost), or no port to knock at (an older helper, or one
      // behind a NAT): dropped, no more known; what an earlier test found stands.
      if (r.knockedAt !== undefined) {
        if (now - r.knockedAt >= FILTER_SEEN_WAIT_MS) this.inconclusive(now);
      } else if (r.sentAt !== undefined && now - r.sentAt >= FILTER_PROBE_WAIT_MS) {
        const knock = this.knock(r, now);
        if (knock === undefined) this.inconclusive(now);
        else send.push(knock);
      } else if (r.sentAt === undefined && now - r.at >= FILTER_SENT_WAIT_MS) {
        this.end();
        this.nextAt = now + Math.min(FILTER_TEST_EVERY_MS, FILTER_TEST_RETRY_MS * 2 ** this.fruitless++);
      }
    }
    for (const [id, k] of this.knocks) if (now - k.at >= FILTER_KNOCK_WAIT_MS) this.knocks.delete(id);
    if (this.running === undefined && now >= this.nextAt) this.start(now, direct(), unNatted, send);
    // No helper yet: once there is one (a first direct path), a test soon.
    if (this.running === undefined && !Number.isFinite(this.nextAt) && now >= this.checkAt) {
      this.checkAt = now + 1_000;
      if (this.helpers(direct()).length > 0) this.nextAt = now + FILTER_TEST_FIRST_MS;
    }
    const close = this.closing;
    this.closing = [];
    return { send, close, wakeAt: this.wakeAt() };
  }

  private start(
    now: number,
    direct: ReadonlyMap<PeerId, Endpoint>,
    unNatted: (id: PeerId) => boolean,
    send: DiscoverySend[],
  ): void {
    const all = this.helpers(direct);
    // Only a helper with no NAT of its own can be knocked at (its fresh port is its public one).
    const plain = all.filter(([id]) => unNatted(id));
    const helpers = plain.length > 0 ? plain : all;
    if (helpers.length === 0) {
      this.nextAt = Number.POSITIVE_INFINITY;
      return;
    }
    // Round the helpers: one that cannot help (an old version, a lost word) does not stop the rest.
    const [helper, endpoint] = helpers.find(([id]) => id > this.lastHelper) ?? helpers[0]!;
    this.lastHelper = helper;
    const nonce = new Uint8Array(TXID_SIZE);
    for (let i = 0; i < TXID_SIZE; i++) nonce[i] = Math.floor(this.random() * 256);
    this.running = { helper, helperEndpoint: endpoint, nonce, at: now };
    send.push({
      to: helper,
      endpoint,
      hole: FILTER_HOLE,
      message: { kind: 'filterTest', step: 'ask', nonce },
    });
  }

  /**
   * Members that can help, by id: reached directly at a public address. One across a LAN would see
   * our LAN address, past no NAT at all.
   */
  private helpers(direct: ReadonlyMap<PeerId, Endpoint>): [PeerId, Endpoint][] {
    return [...direct]
      .filter(([, e]) => isPublicEndpoint(e))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  /** The probe did not get in: our knock at the helper's fresh port, if it said which. */
  private knock(r: Running, now: number): DiscoverySend | undefined {
    if (r.freshPort === undefined) return undefined;
    r.knockedAt = now;
    return {
      to: r.helper,
      endpoint: { address: r.helperEndpoint.address, port: r.freshPort },
      hole: FILTER_HOLE,
      message: { kind: 'filterTest', step: 'knock', nonce: r.nonce },
    };
  }

  /** As the helper: a member's knock, awaited, answered once with where it came from. */
  private knocked(from: PeerId, nonce: Uint8Array, came: Endpoint | undefined, now: number): DiscoverySend[] {
    const k = this.knocks.get(from);
    if (k === undefined || !sameBytes(k.nonce, nonce) || now - k.at >= FILTER_KNOCK_WAIT_MS) return [];
    const asked = k.asked;
    // From the asker's address only (another port of it, maybe): a relay's or another's says nothing.
    if (came === undefined || came.address !== asked.address) return [];
    this.knocks.delete(from);
    const ports = [asked.port, came.port];
    return [{ to: from, endpoint: k.asked, message: { kind: 'filterTest', step: 'seen', nonce, ports } }];
  }

  /** Dropped, but whether a firewall dropped it is not clear yet: 'filtered' meanwhile, asked again sooner. */
  private inconclusive(now: number): void {
    this.result ??= 'filtered';
    this.end();
    this.nextAt = now + Math.min(FILTER_TEST_EVERY_MS, FILTER_TEST_RETRY_MS * 2 ** this.fruitless++);
  }

  private conclude(result: Filtering, now: number): void {
    this.result = result;
    this.fruitless = 0;
    this.end();
    this.nextAt = now + FILTER_TEST_EVERY_MS;
  }

  /** As the helper: the probe and our word, or nothing (refused, counted). */
  private help(
    from: PeerId,
    nonce: Uint8Array,
    endpoint: Endpoint | undefined,
    directTo: Endpoint | undefined,
    unNatted: boolean,
    now: number,
  ): DiscoverySend[] {
    // Only to the IP our direct path to the asker goes to (its pongs proved it the asker's own).
    const onPath = endpoint !== undefined && directTo !== undefined && endpoint.address === directTo.address;
    if (now - this.minute.start >= 60_000) this.minute = { start: now, count: 0 };
    const last = this.helped.get(from);
    const due = last === undefined || now - last >= FILTER_HELP_GAP_MS;
    if (endpoint === undefined || !onPath || !due || this.minute.count >= FILTER_HELPS_PER_MINUTE) {
      this.counters.filterTestsRefused++;
      return [];
    }
    this.helped.set(from, now);
    this.minute.count++;
    this.counters.filterTestsHelped++;
    const probe = { kind: 'filterTest', step: 'probe', nonce } as const;
    const send: DiscoverySend[] = [];
    // The asker's listen port too, when the ask came from its test's socket: a port its router
    // forwards to it lets that one in ('open'). First, so that the 'port' word names the other's
    // fresh socket, the one the knock is for (the I/O fills in the last).
    if (!sameEndpoint(endpoint, directTo))
      send.push({ to: from, endpoint: directTo!, fresh: true, message: probe });
    send.push(
      { to: from, endpoint, fresh: true, message: probe },
      { to: from, endpoint, message: { kind: 'filterTest', step: 'sent', nonce } },
    );
    // A knock can find the fresh socket only at its own port: when no NAT of ours stands between.
    if (unNatted) {
      this.knocks.set(from, { nonce, asked: endpoint, at: now });
      // The I/O fills in the fresh socket's port (pathTypes.ts, DiscoverySend.fresh).
      send.push({
        to: from,
        endpoint,
        message: { kind: 'filterTest', step: 'port', nonce, ports: [FRESH_PORT] },
      });
    }
    return send;
  }

  private wakeAt(): number {
    let knocksEnd = Number.POSITIVE_INFINITY;
    for (const k of this.knocks.values()) knocksEnd = Math.min(knocksEnd, k.at + FILTER_KNOCK_WAIT_MS);
    const r = this.running;
    if (r === undefined) return Math.min(this.nextAt, knocksEnd);
    if (r.knockedAt !== undefined) return Math.min(r.knockedAt + FILTER_SEEN_WAIT_MS, knocksEnd);
    return Math.min(
      r.sentAt === undefined ? r.at + FILTER_SENT_WAIT_MS : r.sentAt + FILTER_PROBE_WAIT_MS,
      knocksEnd,
    );
  }
}

/**
 * What our NAT is, from the ports our ask and our knock came from, as the helper saw them; both from
 * the test's socket, which sent nothing else. A NAT that keeps one port per socket gives the knock
 * the ask's when the probe left no trace, another when its pair is held (Linux: namespaces). One that
 * gives each destination another port says nothing; one that keeps our listen port toward some
 * vantage point keeps ports, whatever the others saw.
 */
function verdict(asked: number, knocked: number, nat: NatPorts): Filtering {
  const keeps = nat.keptToward > 0 && nat.listenPort !== undefined;
  if (nat.mapping !== 'endpoint-independent' && !keeps) return 'filtered';
  return knocked === asked ? 'firewall' : 'no-firewall';
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
