/**
 * One UDP port mapping asked of the router over NAT-PMP (RFC 6886) or PCP (RFC 6887), as an I/O-free
 * state machine: the caller feeds it datagrams from the router and the time, and carries out what
 * it returns (datagrams to send to the router's port 5351, when to call tick next, what happened).
 *
 *   requesting --answer--> mapped --half the lease--> requesting (renew)
 *       |  no answer after REQUEST_TRIES, or a refusal          ^
 *       v                                                       | router restarted (epoch, announce)
 *     failed --RETRY_AFTER_FAILURE_MS--> requesting              |
 *   released: after release(), nothing more is sent (the delete went once, best effort).
 */
import { formatEndpoint } from '../base/endpoint.js';
import {
  ANNOUNCE_RENEW_GAP_MS,
  MIN_RENEW_MS,
  REQUEST_FIRST_TIMEOUT_MS,
  REQUEST_TRIES,
  REQUESTED_LIFETIME_S,
  RETRY_AFTER_FAILURE_MS,
} from './constants.js';
import { type EpochSample, epochValid } from './epoch.js';
import {
  decodeNatPmpResponse,
  encodeExternalAddressRequest,
  encodeMapUdpRequest,
  NAT_PMP_RESULTS,
} from './natPmp.js';
import { answersOurMap, decodePcpResponse, encodePcpMap, PCP_RESULTS } from './pcp.js';

export type UdpMappingProtocol = 'pcp' | 'nat-pmp';

export type MappingEvent =
  | { kind: 'mapped'; external: string; lifetimeS: number }
  | { kind: 'failed'; reason: string }
  /** The router lost the mapping (restart): asked again at once. */
  | { kind: 'lost'; reason: string };

export interface MachineStep {
  readonly send: Uint8Array[];
  readonly events: MappingEvent[];
  /** When tick should run next; undefined: nothing to wait for (released). */
  readonly nextAt: number | undefined;
}

export interface UdpMappingOptions {
  readonly protocol: UdpMappingProtocol;
  /** The node's UDP listen port: mapped to the same external port when the router agrees. */
  readonly internalPort: number;
  /** Our address on the router's LAN (PCP's client IP field). */
  readonly clientIp: string;
  /** 12 random bytes, kept for the mapping's life (PCP §11.1); unused by NAT-PMP. */
  readonly nonce: Uint8Array;
  readonly lifetimeS?: number;
}

type State = 'requesting' | 'mapped' | 'failed' | 'released';

export class UdpMapping {
  private state: State = 'requesting';
  private tries = 0;
  private nextAt = 0;
  private epoch: EpochSample | undefined;
  private announceRenewedAt = Number.NEGATIVE_INFINITY;
  /** NAT-PMP learns the external address and port from two answers. */
  private externalAddress: string | undefined;
  private externalPort: number | undefined;
  private lifetimeS = 0;
  private current: string | undefined;
  /** Datagrams from the router that were no answer of ours, or malformed. */
  junk = 0;

  constructor(private readonly o: UdpMappingOptions) {}

  get protocol(): UdpMappingProtocol {
    return this.o.protocol;
  }

  /** The external endpoint while mapped. */
  get mapped(): { external: string; lifetimeS: number } | undefined {
    // Kept through a renewal: the address holds until the router says otherwise or stops answering.
    return this.current ? { external: this.current, lifetimeS: this.lifetimeS } : undefined;
  }

  start(now: number): MachineStep {
    return this.request(now, []);
  }

  tick(now: number): MachineStep {
    if (this.state === 'released' || now < this.nextAt) return this.step([], []);
    if (this.state === 'mapped' || this.state === 'failed') return this.request(now, []);
    // requesting: no answer yet
    if (this.tries < REQUEST_TRIES) return this.transmit(now, []);
    const wasMapped = this.current !== undefined;
    this.state = 'failed';
    this.current = undefined;
    this.nextAt = now + RETRY_AFTER_FAILURE_MS;
    return this.step([], [{ kind: wasMapped ? 'lost' : 'failed', reason: 'no answer from the router' }]);
  }

  /** A datagram from the router's port 5351, or its announcement on 224.0.0.1:5350. */
  receive(datagram: Uint8Array, now: number): MachineStep {
    if (this.state === 'released') return this.step([], []);
    return this.o.protocol === 'pcp' ? this.receivePcp(datagram, now) : this.receiveNatPmp(datagram, now);
  }

  /** The network changed: ask again now (the caller makes a new machine for another gateway). */
  refresh(now: number): MachineStep {
    if (this.state === 'released') return this.step([], []);
    return this.request(now, []);
  }

  /** Deletes the mapping (lifetime 0, RFC 6886 §3.4 / RFC 6887 §15); one datagram, no retries. */
  release(): MachineStep {
    const had = this.state === 'mapped';
    this.state = 'released';
    this.current = undefined;
    if (!had) return this.step([], []);
    return this.step([this.request0(0)], []);
  }

  private receivePcp(b: Uint8Array, now: number): MachineStep {
    const r = decodePcpResponse(b);
    if (!r) return this.drop();
    const events: MappingEvent[] = [];
    const restarted = this.noteEpoch(r.epoch, now);
    if (r.op === 'announce') {
      // §14.1.1: an announcement whose epoch shows lost state means our mappings are gone.
      if (restarted) return this.request(now, this.lostEvents('the router announced a restart'));
      // A router announces unasked only when it started or lost state (§14.1.3), and one that
      // restarted within ~2 s of our last answer passes the epoch check (its slack): renew once to
      // find out. Its answer is checked like any renewal's.
      if (this.state !== 'mapped' || now - this.announceRenewedAt < ANNOUNCE_RENEW_GAP_MS)
        return this.step([], []);
      this.announceRenewedAt = now;
      return this.request(now, []);
    }
    if (this.state !== 'requesting' || !answersOurMap(r, this.o.nonce, this.o.internalPort))
      return this.drop();
    if (r.result !== 0) return this.refused(PCP_RESULTS[r.result] ?? `result ${r.result}`, now);
    if (r.externalAddress === undefined || r.externalPort === 0 || r.lifetime === 0) return this.drop();
    return this.mappedNow(r.externalAddress, r.externalPort, r.lifetime, now, events);
  }

  private receiveNatPmp(b: Uint8Array, now: number): MachineStep {
    const r = decodeNatPmpResponse(b);
    if (!r) return this.drop();
    const restarted = this.noteEpoch(r.epoch, now);
    if (r.result !== 0) {
      if (this.state !== 'requesting') return this.drop();
      return this.refused(NAT_PMP_RESULTS[r.result] ?? `result ${r.result}`, now);
    }
    if (r.op === 'external-address') {
      // Also what the router multicasts when it restarts or its address changes (§3.2.1).
      const changed = this.externalAddress !== undefined && this.externalAddress !== r.address;
      this.externalAddress = r.address;
      if (this.state === 'mapped' && (restarted || changed)) {
        return this.request(now, this.lostEvents('the router restarted or its address changed'));
      }
    } else {
      if (this.state !== 'requesting' || r.internalPort !== this.o.internalPort) return this.drop();
      if (r.externalPort === 0 || r.lifetime === 0) return this.drop();
      this.externalPort = r.externalPort;
      this.lifetimeS = r.lifetime;
    }
    if (
      this.state === 'requesting' &&
      this.externalAddress !== undefined &&
      this.externalPort !== undefined
    ) {
      return this.mappedNow(this.externalAddress, this.externalPort, this.lifetimeS, now, []);
    }
    return this.step([], []);
  }

  /** Records the epoch; true when it shows the router lost its state since the last one. */
  private noteEpoch(server: number, now: number): boolean {
    const next = { server, clientMs: now };
    const valid = epochValid(this.epoch, next);
    this.epoch = next;
    return !valid;
  }

  private lostEvents(reason: string): MappingEvent[] {
    return this.current !== undefined ? [{ kind: 'lost', reason }] : [];
  }

  private mappedNow(
    address: string,
    port: number,
    lifetimeS: number,
    now: number,
    events: MappingEvent[],
  ): MachineStep {
    const external = formatEndpoint({ address, port });
    const changed = external !== this.current;
    this.state = 'mapped';
    this.current = external;
    this.lifetimeS = lifetimeS;
    this.tries = 0;
    // Renew at half the lease (RFC 6886 §3.3; RFC 6887 §11.2.1 says between 1/2 and 5/8).
    this.nextAt = now + Math.max((lifetimeS * 1000) / 2, MIN_RENEW_MS);
    if (changed) events.push({ kind: 'mapped', external, lifetimeS });
    return this.step([], events);
  }

  private refused(reason: string, now: number): MachineStep {
    const events: MappingEvent[] = [{ kind: this.current !== undefined ? 'lost' : 'failed', reason }];
    this.state = 'failed';
    this.current = undefined;
    this.nextAt = now + RETRY_AFTER_FAILURE_MS;
    return this.step([], events);
  }

  private drop(): MachineStep {
    this.junk++;
    return this.step([], []);
  }

  private request(now: number, events: MappingEvent[]): MachineStep {
    this.state = 'requesting';
    this.tries = 0;
    this.externalPort = undefined;
    return this.transmit(now, events);
  }

  /** Sends (again) what the protocol asks with, and waits 250 ms doubling (RFC 6886 §3.1). */
  private transmit(now: number, events: MappingEvent[]): MachineStep {
    this.nextAt = now + REQUEST_FIRST_TIMEOUT_MS * 2 ** this.tries;
    this.tries++;
    const lifetime = this.o.lifetimeS ?? REQUESTED_LIFETIME_S;
    const send =
      this.o.protocol === 'pcp'
        ? [this.request0(lifetime)]
        : [encodeExternalAddressRequest(), this.request0(lifetime)];
    return this.step(send, events);
  }

  private request0(lifetime: number): Uint8Array {
    const port = this.o.internalPort;
    // Ask for the port we had (or our own), so a renewal keeps the address peers know.
    const suggested = this.externalPort ?? (this.current ? Number(this.current.split(':').pop()) : port);
    return this.o.protocol === 'pcp'
      ? encodePcpMap({
          nonce: this.o.nonce,
          clientIp: this.o.clientIp,
          internalPort: port,
          suggestedPort: suggested,
          lifetime,
        })
      : encodeMapUdpRequest(port, lifetime === 0 ? 0 : suggested, lifetime);
  }

  private step(send: Uint8Array[], events: MappingEvent[]): MachineStep {
    return { send, events, nextAt: this.state === 'released' ? undefined : this.nextAt };
  }
}
