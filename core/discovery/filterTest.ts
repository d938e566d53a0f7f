/**
 * Whether our NAT lets in a datagram it was never asked for (issue 13 point 4, "firewall or none";
 * RFC 4787 §5 filtering, RFC 5780 §4.4's test), measured with the mesh alone, as an I/O-free state
 * machine.
 *
 * A member (the helper) sends one small sealed datagram to our reflexive endpoint as it sees it, from
 * a socket it opened for that datagram alone: a port of its that we never sent to. Then it tells us
 * over our ordinary path that it sent it. If the datagram got in, our NAT's mapping admits what it
 * was not asked for ('open': endpoint-independent or address-dependent filtering, a "full cone", or
 * a port the router forwards to us); if the helper's word came and the datagram did not, the NAT
 * admits only what answers what we sent ('filtered': address-and-port-dependent, as every Linux
 * conntrack NAT is, firewall rules or not). Telling endpoint-independent from address-dependent
 * filtering would need an IP we never sent to; every member is one we ping, so 'open' says "from
 * a port never sent to", no more. Without the helper's word (lost, refused) nothing is concluded.
 *
 *   we → helper   ask   {nonce}  sent directly, so the helper sees our reflexive endpoint
 *   helper → we   probe {nonce}  from a fresh socket, to the endpoint the ask came from
 *   helper → we   sent  {nonce}  from its main socket, on the path it has to us
 *
 * What a member can make a helper do (issue 10's attacker, a member): send one fixed-size datagram
 * (14 bytes inside the seal) to the member itself, at the endpoint the ask came from, and only when
 * that is the endpoint of the helper's direct path to it (a round trip of sealed pings proved it is
 * the member's): never to an address of the member's choosing, so no reflection toward a third party
 * and no amplification (one ask, one probe and one word back). A member is helped once per
 * FILTER_HELP_GAP_MS, everyone together FILTER_HELPS_PER_MINUTE times a minute; the rest are
 * refused and counted. The table of when each member was last helped holds members only.
 */
import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import { TXID_SIZE } from './constants.js';
import { isPublicEndpoint } from './endpointClass.js';
import type { FilterStep } from './messages.js';
import type { DiscoverySend, Source } from './pathTypes.js';

export type Filtering = 'open' | 'filtered';

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
/** As a helper: each member at most once per this, all members together this many a minute. */
export const FILTER_HELP_GAP_MS = 60_000;
export const FILTER_HELPS_PER_MINUTE = 10;

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
    this.running = undefined;
    this.fruitless = 0;
    this.nextAt = now + FILTER_TEST_FIRST_MS;
  }

  /** Member `id` left the roster. */
  forget(id: PeerId): void {
    this.helped.delete(id);
    if (this.running?.helper === id) this.running = undefined;
  }

  /**
   * A filter-test step from member `from`, from `source`; `directTo` is the endpoint of our direct
   * path to it, if any. Returns what to send.
   */
  receive(
    from: PeerId,
    step: FilterStep,
    nonce: Uint8Array,
    source: Source,
    directTo: Endpoint | undefined,
    now: number,
  ): DiscoverySend[] {
    const endpoint = 'endpoint' in source ? source.endpoint : undefined;
    if (step === 'ask') return this.help(from, nonce, endpoint, directTo, now);
    const r = this.running;
    if (r === undefined || r.helper !== from || !sameBytes(r.nonce, nonce)) return [];
    if (step === 'sent') r.sentAt ??= now;
    // The probe counts only from a socket that is not the helper's main one: that one we ping.
    else if (endpoint !== undefined && !sameEndpoint(endpoint, r.helperEndpoint)) this.conclude('open', now);
    return [];
  }

  /**
   * A test due by `now`, and a running one that ends. `direct`: the members we reach directly, by
   * the endpoint we reach each at. Returns the sends and when to run next.
   */
  tick(now: number, direct: () => ReadonlyMap<PeerId, Endpoint>): { send: DiscoverySend[]; wakeAt: number } {
    const r = this.running;
    if (r !== undefined) {
      if (r.sentAt !== undefined && now - r.sentAt >= FILTER_PROBE_WAIT_MS) this.conclude('filtered', now);
      else if (r.sentAt === undefined && now - r.at >= FILTER_SENT_WAIT_MS) {
        this.running = undefined;
        this.nextAt = now + Math.min(FILTER_TEST_EVERY_MS, FILTER_TEST_RETRY_MS * 2 ** this.fruitless++);
      }
    }
    const send: DiscoverySend[] = [];
    if (this.running === undefined && now >= this.nextAt) this.start(now, direct(), send);
    // No helper yet: once there is one (a first direct path), a test soon.
    if (this.running === undefined && !Number.isFinite(this.nextAt) && now >= this.checkAt) {
      this.checkAt = now + 1_000;
      if (this.helpers(direct()).length > 0) this.nextAt = now + FILTER_TEST_FIRST_MS;
    }
    return { send, wakeAt: this.wakeAt() };
  }

  private start(now: number, direct: ReadonlyMap<PeerId, Endpoint>, send: DiscoverySend[]): void {
    const helpers = this.helpers(direct);
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
    send.push({ to: helper, endpoint, message: { kind: 'filterTest', step: 'ask', nonce } });
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

  private conclude(result: Filtering, now: number): void {
    this.result = result;
    this.fruitless = 0;
    this.running = undefined;
    this.nextAt = now + FILTER_TEST_EVERY_MS;
  }

  /** As the helper: the probe and our word, or nothing (refused, counted). */
  private help(
    from: PeerId,
    nonce: Uint8Array,
    endpoint: Endpoint | undefined,
    directTo: Endpoint | undefined,
    now: number,
  ): DiscoverySend[] {
    // Only to where our direct path to the asker goes, proven by its pongs: the asker's own address.
    const onPath = endpoint !== undefined && sameEndpoint(endpoint, directTo);
    if (now - this.minute.start >= 60_000) this.minute = { start: now, count: 0 };
    const last = this.helped.get(from);
    const due = last === undefined || now - last >= FILTER_HELP_GAP_MS;
    if (!onPath || !due || this.minute.count >= FILTER_HELPS_PER_MINUTE) {
      this.counters.filterTestsRefused++;
      return [];
    }
    this.helped.set(from, now);
    this.minute.count++;
    this.counters.filterTestsHelped++;
    return [
      { to: from, endpoint, fresh: true, message: { kind: 'filterTest', step: 'probe', nonce } },
      { to: from, endpoint, message: { kind: 'filterTest', step: 'sent', nonce } },
    ];
  }

  private wakeAt(): number {
    const r = this.running;
    if (r === undefined) return this.nextAt;
    return r.sentAt === undefined ? r.at + FILTER_SENT_WAIT_MS : r.sentAt + FILTER_PROBE_WAIT_MS;
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
