/** The `/` filter: which members a typed text selects. */
import type { PeerStatus } from '../../core/node/status.js';

/** Case-insensitive substring of the name or any overlay address; an empty filter keeps everyone. */
export function matchesFilter(peer: Pick<PeerStatus, 'name' | 'addresses'>, filter: string): boolean {
  const f = filter.trim().toLowerCase();
  if (f === '') return true;
  return peer.name.toLowerCase().includes(f) || peer.addresses.some((a) => a.toLowerCase().includes(f));
}
