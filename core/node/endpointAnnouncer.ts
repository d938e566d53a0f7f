/**
 * Where this node says it can be reached: its interface addresses (localCandidates), and its signed
 * endpoint record, published again whenever what it would say has changed. The record also carries
 * the data path's relay epoch (issue 10), so the roster tells members which relay keys to derive.
 */

import { bytesEqual } from '../base/bytes.js';
import { type Endpoint, formatEndpoint } from '../base/endpoint.js';
import { parseCandidate } from '../discovery/index.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { ipv4InSubnet, ipv6InSubnet } from '../membership/addressing.js';
import { publishEndpoints } from '../membership/issue.js';
import type { Member, Roster } from '../membership/roster.js';
import type { NodeIo } from '../tunnel/io.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { localEndpoints } from './localEndpoints.js';
import type { NodeSettings } from './nodeState.js';

/** An endpoint record names at most this many: announced ones first, then discovery's best. */
export const MAX_ANNOUNCED = 8;

export interface EndpointAnnouncerOptions {
  readonly settings: Pick<NodeSettings, 'network' | 'announce'>;
  /** Whether this node relays between other members: said in the record (--no-relay). */
  readonly relays: boolean;
  readonly roster: Roster;
  /** This member's signing secret key: the endpoint record is its own to sign. */
  readonly signingKey: Uint8Array;
  readonly io: Pick<NodeIo, 'networkInterfaces'>;
  readonly tunnel: Pick<Tunnel, 'port' | 'relayEpoch'>;
  /** Discovery's candidates, best first (interfaces and the reflexive addresses peers see). */
  candidates(): readonly Endpoint[];
  /** The address the gateway forwards to us (port mapping): announced after --endpoint ones. */
  mapped(): readonly string[];
  /** This node's own membership (throws when it is gone). */
  self(): Member;
  publish(record: GossipRecord): void;
}

export class EndpointAnnouncer {
  private announced: readonly string[] = [];

  constructor(private readonly options: EndpointAnnouncerOptions) {}

  /** Endpoints this node announces in its endpoint record, as last announced. */
  get endpoints(): readonly string[] {
    return this.announced;
  }

  /** This machine's interface addresses with the node's port, the overlay's own left out. */
  localCandidates(): Endpoint[] {
    const { network } = this.options.settings;
    return localEndpoints(this.options.tunnel.port, {
      interfaces: this.options.io.networkInterfaces(),
      exclude: (a) => ipv4InSubnet(a, network.ipv4Subnet) || ipv6InSubnet(a, network.ipv6Subnet),
    });
  }

  /** The endpoints the user announces (--endpoint; canonical text in the settings), parsed. */
  userAnnounced(): Endpoint[] {
    return this.options.settings.announce.map(parseCandidate).filter((e) => e !== undefined);
  }

  /**
   * Publishes this node's endpoint record when what it can be reached at has changed: announced
   * addresses first, then the port-mapped one (a forward the gateway keeps open), then discovery's candidates (interfaces and the reflexive addresses peers see),
   * and our data path's relay epoch — new at every start, so every start publishes a record, and
   * members derive this data path's relay keys once it reaches them (issue 10).
   */
  announce(): void {
    const o = this.options;
    const self = o.self();
    // Text from here: the record is gossip's, its endpoints canonical text (endpointRecord.ts).
    const candidates = o.candidates().map(formatEndpoint);
    const endpoints = [...new Set([...o.settings.announce, ...o.mapped(), ...candidates])].slice(
      0,
      MAX_ANNOUNCED,
    );
    this.announced = endpoints;
    const mapped = o.mapped().filter((m) => endpoints.includes(m));
    if (
      endpoints.join() === self.endpoints.join() &&
      mapped.join() === self.mappedEndpoints.join() &&
      self.relay === o.relays &&
      this.announcesOurEpoch(self)
    )
      return;
    o.publish(
      publishEndpoints(o.roster, endpoints, o.signingKey, Date.now(), {
        noRelay: !o.relays,
        relayEpoch: o.tunnel.relayEpoch,
        mapped,
      }),
    );
  }

  /**
   * Whether our record in the roster carries this data path's relay epoch. It may not after a
   * crash: gossip can bring back a record of our previous life newer than the one we made at start
   * (its seq is the wall clock, which may have stepped back), and members would derive keys for an
   * epoch no data path has any more, until we publish again.
   */
  announcesOurEpoch(self: Member): boolean {
    return self.relayEpoch !== null && bytesEqual(self.relayEpoch, this.options.tunnel.relayEpoch);
  }
}
