/**
 * The roster as the node persists it: the network and every record, base64. Loading re-checks each
 * record (encoding, network, signature) and fails naming the record and what is wrong: a damaged
 * file must never silently become an empty roster, which would cut this node off its network.
 */
import type { GossipRecord } from '../gossip/recordStore.js';
import { MembershipError } from './membershipError.js';
import { type NetworkJSON, networkFromJSON, networkToJSON } from './network.js';
import { MAX_RECORD_BYTES, Roster } from './roster.js';

export const ROSTER_FILE_VERSION = 1;

export interface RosterJSON {
  version: number;
  network: NetworkJSON;
  records: { id: string; version: number; bytes: string }[];
}

export function rosterToJSON(roster: Roster): RosterJSON {
  return {
    version: ROSTER_FILE_VERSION,
    network: networkToJSON(roster.network),
    records: roster
      .records()
      .map((r) => ({ id: r.id, version: r.version, bytes: Buffer.from(r.bytes).toString('base64') })),
  };
}

/** `where` names the file in errors, e.g. its path. Throws ESTORE_CORRUPT. */
export function rosterFromJSON(value: unknown, where = 'roster'): Roster {
  const corrupt = (what: string) =>
    new MembershipError('ESTORE_CORRUPT', `${where}: ${what}`, {
      hint: 'restore the file from a backup, or leave and re-join the network',
    });
  const v = value as Partial<RosterJSON> | null;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw corrupt('not a JSON object');
  if (v.version !== ROSTER_FILE_VERSION) throw corrupt(`unknown version ${JSON.stringify(v.version)}`);
  if (!Array.isArray(v.records)) throw corrupt('"records" is not a list');
  const roster = new Roster(networkFromJSON(v.network, where));
  v.records.forEach((entry: unknown, i) => {
    const e = entry as Partial<{ id: unknown; version: unknown; bytes: unknown }> | null;
    const label = `record ${i}${typeof e?.id === 'string' ? ` (${e.id.slice(0, 64)})` : ''}`;
    if (typeof e !== 'object' || e === null) throw corrupt(`${label} is not an object`);
    if (typeof e.id !== 'string' || !Number.isSafeInteger(e.version) || typeof e.bytes !== 'string') {
      throw corrupt(`${label} lacks id, version or bytes`);
    }
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(e.bytes)) throw corrupt(`${label} bytes are not base64`);
    const bytes = new Uint8Array(Buffer.from(e.bytes, 'base64'));
    if (bytes.length > MAX_RECORD_BYTES) throw corrupt(`${label} is too large`);
    const record: GossipRecord = { id: e.id, version: e.version as number, bytes };
    const fault = roster.restore(record);
    if (fault) throw corrupt(`${label}: ${fault}`);
  });
  return roster;
}
