/**
 * One Discovery under a simulated clock, with scripted members around it: the test says what each
 * member sends when, and how members answer what the node sends them. Every send the node makes is
 * recorded with its time, so a test can count what reached an address.
 */
import type { PeerId } from '../../core/base/keys.js';
import {
  Discovery,
  type DiscoveryMessage,
  type DiscoveryOutput,
  type DiscoverySend,
  type Source,
} from '../../core/discovery/index.js';
import { ep, epText } from '../helpers/endpoints.js';
import { seededUniform } from '../helpers/seeded.js';

export interface SentAt extends DiscoverySend {
  readonly at: number;
}

/** How a scripted member answers one of our sends: messages it sends back (to us), after `delayMs`. */
export type Responder = (
  send: DiscoverySend,
  at: number,
) => { from: PeerId; message: DiscoveryMessage; source: Source; delayMs: number }[];

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => DiscoveryOutput | undefined;
}

export class Driver {
  now = 0;
  readonly sent: SentAt[] = [];
  readonly discovery: Discovery;
  private readonly queue: Scheduled[] = [];
  private seq = 0;
  private wakeAt = Number.POSITIVE_INFINITY;

  constructor(
    self: PeerId,
    peers: readonly { id: PeerId; candidates: readonly string[] }[],
    private readonly responder: Responder,
    seed = 1,
  ) {
    this.discovery = new Discovery({
      self,
      now: 0,
      local: [ep('198.18.0.1:51820')],
      random: seededUniform(seed),
    });
    this.handle(
      this.discovery.setPeers(
        peers.map((p) => ({
          id: p.id,
          name: p.id.slice(0, 4),
          candidates: p.candidates.map(ep),
          relay: true,
        })),
        0,
      ),
    );
  }

  /** Member `from` sends us `message` at `at`, from `source`. */
  at(at: number, from: PeerId, message: DiscoveryMessage, source: Source): void {
    this.schedule(at, () => this.discovery.receive(from, message, source, this.now));
  }

  /** Runs the node and the scripted members until `until` (bounded, so a bug cannot spin forever). */
  run(until: number): void {
    for (let n = 0; n < 1_000_000; n++) {
      const next = this.queue[0];
      const wake = this.wakeAt;
      if ((next === undefined || next.at > until) && wake > until) {
        this.now = until;
        return;
      }
      if (next !== undefined && next.at <= wake) {
        this.queue.shift();
        this.now = next.at;
        const out = next.run();
        if (out) this.handle(out);
      } else {
        this.now = wake;
        this.wakeAt = Number.POSITIVE_INFINITY;
        this.handle(this.discovery.tick(this.now));
      }
    }
    throw new Error(`driver did not settle by ${until} ms`);
  }

  /** Pings we sent directly to `endpoints` within [from, to]. */
  pingsTo(endpoints: ReadonlySet<string>, from = 0, to = Number.POSITIVE_INFINITY): number {
    return this.sent.filter(
      (s) =>
        s.message.kind === 'ping' &&
        s.via === undefined &&
        endpoints.has(epText(s.endpoint)) &&
        s.at >= from &&
        s.at <= to,
    ).length;
  }

  private handle(out: DiscoveryOutput): void {
    for (const s of out.send) {
      this.sent.push({ ...s, at: this.now });
      for (const r of this.responder(s, this.now)) {
        this.schedule(this.now + r.delayMs, () =>
          this.discovery.receive(r.from, r.message, r.source, this.now),
        );
      }
    }
    this.wakeAt = Math.max(out.nextWakeAt, this.now + 1);
  }

  private schedule(at: number, run: () => DiscoveryOutput | undefined): void {
    const item = { at, seq: this.seq++, run };
    let i = this.queue.length;
    while (
      i > 0 &&
      (this.queue[i - 1]!.at > at || (this.queue[i - 1]!.at === at && this.queue[i - 1]!.seq > item.seq))
    )
      i--;
    this.queue.splice(i, 0, item);
  }
}
