/**
 * The roster written to the state directory: soon after it changes, in batches (gossip may bring
 * hundreds of records in a second), and once more when the node stops. A write that fails is
 * logged, not thrown: the node runs on, and the next change writes again.
 */

import type { Roster } from '../membership/roster.js';
import type { NodeState } from './nodeState.js';

/** Roster writes are batched: gossip may bring hundreds of records in a second. */
const SAVE_DELAY_MS = 500;

export class RosterSaver {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly state: NodeState,
    private readonly roster: Roster,
    private readonly log: (line: string) => void,
  ) {}

  /** The roster changed: write it within SAVE_DELAY_MS, with whatever else changes meanwhile. */
  schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.save();
    }, SAVE_DELAY_MS);
  }

  /** Write now, and nothing later (the node stops). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.save();
  }

  private save(): void {
    try {
      this.state.saveRoster(this.roster);
    } catch (e) {
      this.log(`could not save the roster: ${e instanceof Error ? e.message : e}`);
    }
  }
}
