/**
 * Peer ids for tests that name their peers ('a', 'b', 'm12'): a PeerId is made only from a key
 * (core/base/keys.ts), so each name gets a key of its own — a hash of the name, the same every
 * run — and the name can be found again from the id.
 */
import { createHash } from 'node:crypto';
import { type PeerId, peerId } from '../../core/base/keys.js';

const ids = new Map<string, PeerId>();
const names = new Map<PeerId, string>();

/** The peer id of the test's peer `name`. */
export function namedPeer(name: string): PeerId {
  let id = ids.get(name);
  if (id === undefined) {
    id = peerId(new Uint8Array(createHash('sha256').update(`test peer ${name}`).digest()));
    ids.set(name, id);
    names.set(id, name);
  }
  return id;
}

/** The name `id` was made from by namedPeer; throws for any other id (a test bug). */
export function peerName(id: PeerId): string {
  const name = names.get(id);
  if (name === undefined) throw new Error(`${id} is not a named test peer`);
  return name;
}
