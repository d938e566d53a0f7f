/**
 * Discovery's paths, one per member, with what a step needs to find in O(1) rather than by a pass
 * over all N: when each path wants its next tick (wakeQueue.ts), and which paths are direct (where
 * relays and introducers come from) and which are not (who needs an introduction). Discovery keeps
 * these in line by calling `noteChoice` after anything that may move a path.
 */
import { type Endpoint, sameEndpoint } from '../base/endpoint.js';
import type { PeerId } from '../base/keys.js';
import type { PeerPath } from './peerPath.js';
import { WakeQueue } from './wakeQueue.js';

export class PathTable {
  private readonly paths = new Map<PeerId, PeerPath>();
  private readonly wakes = new WakeQueue<PeerId>();
  /** The endpoint of each path that is direct now; the others are in notDirect. */
  private readonly directOf = new Map<PeerId, Endpoint>();
  private readonly notDirectIds = new Set<PeerId>();

  get(id: PeerId): PeerPath | undefined {
    return this.paths.get(id);
  }

  entries(): IterableIterator<[PeerId, PeerPath]> {
    return this.paths.entries();
  }

  values(): IterableIterator<PeerPath> {
    return this.paths.values();
  }

  ids(): IterableIterator<PeerId> {
    return this.paths.keys();
  }

  /** A new path (not direct yet), due for a tick at `now`. */
  add(id: PeerId, path: PeerPath, now: number): void {
    this.paths.set(id, path);
    this.notDirectIds.add(id);
    this.wakes.schedule(id, now);
  }

  delete(id: PeerId): void {
    this.paths.delete(id);
    this.wakes.delete(id);
    this.directOf.delete(id);
    this.notDirectIds.delete(id);
  }

  /** Path `id` wants a tick at `at` (replacing its previous wish). */
  wakeAt(id: PeerId, at: number): void {
    this.wakes.schedule(id, at);
  }

  /** Every path ticks at `now` (our own addresses changed). */
  wakeAll(now: number): void {
    for (const id of this.paths.keys()) this.wakes.schedule(id, now);
  }

  /** The paths due by `now`; each must be ticked and given its next wake. */
  takeDue(now: number): PeerId[] {
    return this.wakes.takeDue(now);
  }

  /** The earliest wake of any path; +Infinity when none wants one. */
  nextWake(): number {
    return this.wakes.next();
  }

  /** Where path `id` goes directly now; undefined when relayed or nowhere. */
  directEndpoint(id: PeerId): Endpoint | undefined {
    return this.directOf.get(id);
  }

  /** The paths that are not direct, in no particular order. */
  notDirect(): ReadonlySet<PeerId> {
    return this.notDirectIds;
  }

  /** The paths that are direct, in the order the members were added. */
  directIds(): PeerId[] {
    return [...this.paths.keys()].filter((id) => this.directOf.has(id));
  }

  /** Never-answered addresses member `namedBy` named, over all paths (its probe budget's share). */
  unansweredBy(namedBy: PeerId): number {
    let n = 0;
    for (const path of this.paths.values()) n += path.unansweredBy(namedBy);
    return n;
  }

  /** Reads path `id`'s choice again; true when it went direct, stopped being direct, or moved. */
  noteChoice(id: PeerId): boolean {
    const c = this.paths.get(id)?.choice();
    if (c === undefined) return false;
    const endpoint = c.path === 'direct' ? c.endpoint : undefined;
    const was = this.directOf.get(id);
    if (endpoint === undefined ? was === undefined : sameEndpoint(endpoint, was)) return false;
    if (endpoint === undefined) {
      this.directOf.delete(id);
      this.notDirectIds.add(id);
    } else {
      this.directOf.set(id, endpoint);
      this.notDirectIds.delete(id);
    }
    return true;
  }
}
