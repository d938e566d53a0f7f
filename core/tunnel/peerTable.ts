/**
 * The tunnel's peers, found by the data path's number for them (its events name peers so) or by
 * their key (the node names them so). Owned by the Tunnel; the handshake driver and the event
 * dispatch read and update entries, only the Tunnel adds and removes them.
 */
import type { PeerId } from '../base/keys.js';
import type { Peer } from '../wireguard/peer.js';

export interface PeerEntry {
  /** The data path's number for this peer. */
  readonly id: number;
  readonly key: PeerId;
  readonly peer: Peer;
  lastRxPackets: number;
  lastTxPackets: number;
  lastHandshakeAt: number | undefined;
  /** The relay member this peer's datagrams go through; undefined when direct. */
  relayVia: PeerId | undefined;
  /**
   * The data path asked for a handshake that could not start (no endpoint yet): packets wait in
   * its staging queue until a path appears, and the path change should start it at once.
   */
  handshakeWanted: boolean;
  /** The peer's relay epoch the data path's relay key for it was derived with; undefined: no key. */
  relayKeyEpoch: Uint8Array | undefined;
  /** A resend that had to wait out the timestamp granularity. */
  resendTimer?: NodeJS.Timeout;
}

export class PeerTable {
  private readonly byId = new Map<number, PeerEntry>();
  private readonly byKey = new Map<PeerId, PeerEntry>();
  private nextId = 1;

  /** A fresh entry for `peer`, not yet in the table: the caller configures the data path first. */
  create(key: PeerId, peer: Peer): PeerEntry {
    return {
      id: this.nextId++,
      key,
      peer,
      lastRxPackets: 0,
      lastTxPackets: 0,
      lastHandshakeAt: undefined,
      relayVia: undefined,
      handshakeWanted: false,
      relayKeyEpoch: undefined,
    };
  }

  add(entry: PeerEntry): void {
    this.byId.set(entry.id, entry);
    this.byKey.set(entry.key, entry);
  }

  remove(entry: PeerEntry): void {
    this.byId.delete(entry.id);
    this.byKey.delete(entry.key);
  }

  has(key: PeerId): boolean {
    return this.byKey.has(key);
  }

  /** The entry the data path numbers `id`. */
  get(id: number): PeerEntry | undefined {
    return this.byId.get(id);
  }

  find(key: PeerId): PeerEntry | undefined {
    return this.byKey.get(key);
  }

  values(): IterableIterator<PeerEntry> {
    return this.byId.values();
  }
}
