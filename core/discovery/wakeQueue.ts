/**
 * When each path wants its next tick, as a binary min-heap: a node with N paths wakes at each of
 * their times (heartbeats, probes, deadlines), and at each wake only the paths that are due are
 * ticked — O(due · log N), not O(N). Before, every wake ticked every path, and since some path is
 * nearly always due, a node with N peers ticked N paths tens of times a second (bench:scale: the
 * largest share of a node's CPU at N = 100).
 *
 * A key has one wake time: scheduling it again replaces the old one, which stays in the heap as a
 * dead entry and is skipped when it comes up (lazy deletion); the heap is rebuilt when dead entries
 * outnumber live ones, so it stays O(N). Keys due at the same time come out in the order they were
 * scheduled, so a step ticks paths in a reproducible order.
 */
interface Entry<K> {
  readonly at: number;
  /** Order of scheduling: breaks ties between equal times. */
  readonly seq: number;
  readonly key: K;
}

function before<K>(a: Entry<K>, b: Entry<K>): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class WakeQueue<K> {
  private heap: Entry<K>[] = [];
  private readonly wakeOf = new Map<K, number>();
  private seq = 0;

  get size(): number {
    return this.wakeOf.size;
  }

  /** `key` wants to be ticked at `at` (replacing any earlier wish). Not finite: never. */
  schedule(key: K, at: number): void {
    if (!Number.isFinite(at)) {
      this.wakeOf.delete(key);
      return;
    }
    if (this.wakeOf.get(key) === at) return;
    this.wakeOf.set(key, at);
    this.push({ at, seq: this.seq++, key });
    if (this.heap.length > 2 * this.wakeOf.size + 64) this.rebuild();
  }

  /** `key` at `at`, unless it already wants an earlier tick. */
  scheduleBy(key: K, at: number): void {
    const held = this.wakeOf.get(key);
    if (held === undefined || at < held) this.schedule(key, at);
  }

  delete(key: K): void {
    this.wakeOf.delete(key);
  }

  /** When `key` wants its tick; undefined when it wants none. */
  wakeAt(key: K): number | undefined {
    return this.wakeOf.get(key);
  }

  /** The earliest wake of any key; +Infinity when none wants one. */
  next(): number {
    this.dropDead();
    return this.heap[0]?.at ?? Number.POSITIVE_INFINITY;
  }

  /** The keys due by `now`, earliest first; each leaves the queue (tick it, then schedule it again). */
  takeDue(now: number): K[] {
    const due: K[] = [];
    for (;;) {
      this.dropDead();
      const top = this.heap[0];
      if (top === undefined || top.at > now) return due;
      this.pop();
      this.wakeOf.delete(top.key);
      due.push(top.key);
    }
  }

  private dropDead(): void {
    for (let top = this.heap[0]; top !== undefined && this.wakeOf.get(top.key) !== top.at; top = this.heap[0])
      this.pop();
  }

  private rebuild(): void {
    const seen = new Set<K>();
    const live = this.heap
      .filter((e) => this.wakeOf.get(e.key) === e.at)
      .sort((a, b) => a.seq - b.seq)
      .filter((e) => !seen.has(e.key) && seen.add(e.key) !== undefined);
    this.heap = [];
    for (const e of live) this.push(e);
  }

  private push(entry: Entry<K>): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, h[parent]!)) break;
      h[i] = h[parent]!;
      i = parent;
    }
    h[i] = entry;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
  }
}
