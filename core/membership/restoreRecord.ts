/**
 * A record read back from this node's own roster file (rosterFile.ts), stored as it was: checked for
 * what does not change with time — encoding, network, signatures, addresses. Chains and expiry are
 * the Roster's to judge at each query, and its next offer or prune drops what is not kept, as if the
 * records had come by gossip (Roster.restore).
 */

import { bytesEqual } from '../base/bytes.js';
import { encodeKey } from '../base/keys.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import {
  decodeEndpointRecord,
  ENDPOINT_RECORD_PREFIX,
  endpointRecordId,
  verifyEndpointRecord,
} from './endpointRecord.js';
import { copyRecord, type HeldRecords } from './heldRecords.js';
import type { Network } from './network.js';
import { certificateFault, readCertificate, readRevocation, revocationFault } from './recordChecks.js';

/** Stores `record` in `held`; a reason when it cannot be (then nothing is stored). */
export function restoreRecord(held: HeldRecords, network: Network, record: GossipRecord): string | undefined {
  if (record.id.startsWith('cert:')) {
    const read = readCertificate(record);
    if (!read.ok) return read.reason;
    const fault = certificateFault(network, read.value);
    if (fault) return fault;
    held.storeCertificate(read.value, record);
    return undefined;
  }
  if (record.id.startsWith('revoke:')) {
    const read = readRevocation(record, { legacyId: true });
    if (!read.ok) return read.reason;
    if (held.revocationsById.has(read.value.id)) return 'listed twice';
    const fault = revocationFault(network, read.value.value);
    if (fault) return fault;
    held.storeRevocation({ ...read.value, record: { ...copyRecord(record), id: read.value.id } });
    return undefined;
  }
  if (record.id.startsWith(ENDPOINT_RECORD_PREFIX)) {
    const d = decodeEndpointRecord(record.bytes);
    if (!d.ok) return d.reason;
    const r = d.value;
    if (endpointRecordId(r.member) !== record.id || r.seq !== record.version) return 'id or version mismatch';
    if (!bytesEqual(r.networkKey, network.key)) return 'endpoints of another network';
    if (!verifyEndpointRecord(r)) return 'bad signature';
    held.storeEndpoints(encodeKey(r.member), r, record);
    return undefined;
  }
  return 'unknown record kind';
}
