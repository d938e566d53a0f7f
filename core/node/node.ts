/**
 * A running member: the overlay interface and its tunnel, the roster kept in step by gossip,
 * join requests answered for this node's invites, and the control API's methods. Everything
 * protocol-shaped is done by the state machines in core/gossip, core/discovery, core/overlayWire
 * and core/membership; the node's own concerns each have a module that carries them out:
 *
 * - sealedMessaging.ts: sealed messages to and from members (where to send, what arrived);
 * - paths.ts: discovery driven, its messages encoded and decoded, `overlay ping`;
 * - relayRoutes.ts: where each member's traffic goes, relay keys, relayed MTUs;
 * - rosterGossip.ts: gossip rounds, records published and received;
 * - endpointAnnouncer.ts: this node's addresses and its endpoint record;
 * - admin.ts: invites, joins and kicks, through a narrow interface this class satisfies;
 * - nodeDns.ts: the members' names, answered on the overlay address.
 * This class composes them, owns their lifecycle and timers, and keeps the tunnel's peers in line
 * with the roster (rosterChanged).
 */

import { type PeerId, peerId, peerKey } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Identity, IdentityStore } from '../identity/identityStore.js';
import type { InviteBook } from '../membership/inviteBook.js';
import { retiringStore } from '../membership/retiredMembers.js';
import type { Member, Roster } from '../membership/roster.js';
import { JoinResponder, mac1Key } from '../overlayWire/index.js';
import { type PortMapper, type PortMappingMode, portMapperFor } from '../portmap/portMapper.js';
import { type NodeIo, nativeIo, type TunDevice } from '../tunnel/io.js';
import { TUN_MTU } from '../tunnel/mtu.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { DEFAULT_RELAY_RATE_MBIT, relayBytesPerSecond } from '../tunnel/types.js';
import { redeemInvite } from './admin.js';
import { EndpointAnnouncer } from './endpointAnnouncer.js';
import { type MemberPong, pingMember } from './memberPing.js';
import { type NodeDns, startNames } from './nodeDns.js';
import { type NodeSettings, NodeState } from './nodeState.js';
import { openInterface, startTunnel } from './openInterface.js';
import { NodePaths } from './paths.js';
import { announcesNewEpoch, type DesiredPeer, desiredPeers, syncPeers } from './peerSync.js';
import { RelayRoutes } from './relayRoutes.js';
import { RosterGossip } from './rosterGossip.js';
import { SealedMessaging } from './sealedMessaging.js';
import { StunProbe } from './stunProbe.js';

/** Roster writes are batched: gossip may bring hundreds of records in a second. */
const SAVE_DELAY_MS = 500;
/**
 * How often the node looks again at what changes without a message: certificates expiring,
 * records to prune, its own addresses. Every 30 s: each look costs an idle node a few ms of CPU.
 */
const MAINTENANCE_MS = 30_000;

export interface NodeOptions {
  stateDir: string;
  log: (line: string) => void;
  /** Tests only: shortened WireGuard timings. */
  timings?: Record<string, number>;
  /**
   * False (--no-relay): carry no traffic between other members, and say so in the endpoint
   * record. Undefined: as the node's settings say (what the last `up` remembered).
   */
  relay?: boolean;
  /** --stun servers (HOST:PORT) to learn this node's reflexive address from; undefined: the settings'. */
  stun?: readonly string[];
  /** `up --listen`: the UDP port; undefined: the settings'. */
  listenPort?: number;
  /** --endpoint: addresses to announce besides those discovered (a port forward); undefined: the settings'. */
  announce?: string[];
  /** `up --relay-rate`: Mbit/s each member may send through this node; undefined: the settings'. */
  relayRateMbit?: number;
  portMapping?: PortMappingMode; // up --port-mapping (PCP, NAT-PMP, UPnP); undefined: the settings'
  /** The TUN device, data path and interface list: the machine's own unless a test gives twins. */
  io?: NodeIo;
  /** Answer the members' names on the overlay address (`up` does; in-process test nodes do not). */
  serveNames?: boolean;
  /** `up --no-dns` (false): leave the host's DNS alone; undefined: as the settings say. */
  dns?: boolean;
}

export class OverlayNode {
  readonly identity: Identity;
  readonly settings: NodeSettings;
  readonly roster: Roster;
  readonly invites: InviteBook;
  readonly startedAt = Date.now();
  /** Whether this node relays between other members (not with --no-relay). */
  readonly relays: boolean;
  /** What each member may send through this node as its relay, Mbit/s (--relay-rate). */
  readonly relayRateMbit: number;
  readonly tunnel: Tunnel;
  readonly paths: NodePaths;
  /** --stun: undefined when no server was given. */
  readonly stun: StunProbe | undefined;
  readonly portMapper: PortMapper | undefined; // asks the gateway to forward our port; off: undefined
  private readonly tun: TunDevice;
  /** The tunnel's peers, as syncPeers last left them. */
  private readonly synced = new Map<PeerId, DesiredPeer>();
  private readonly messaging: SealedMessaging;
  private readonly routes: RelayRoutes;
  private readonly announcer: EndpointAnnouncer;
  private readonly gossip: RosterGossip;
  /** The resolver, when `serveNames`. */
  names: NodeDns | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly maintenanceTimer: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    private readonly options: NodeOptions,
    private readonly state: NodeState,
  ) {
    this.identity = IdentityStore.openOrCreate(options.stateDir).load();
    const settings = state.settings();
    this.settings = {
      ...settings,
      listenPort: options.listenPort ?? settings.listenPort,
      announce: options.announce ?? settings.announce,
      relayRateMbit: options.relayRateMbit ?? settings.relayRateMbit,
      portMapping: options.portMapping ?? settings.portMapping,
    };
    this.relays = options.relay ?? this.settings.relay;
    this.relayRateMbit = this.settings.relayRateMbit ?? DEFAULT_RELAY_RATE_MBIT;
    const stunServers = options.stun ?? this.settings.stun;
    this.roster = state.loadRoster();
    this.invites = state.loadInvites();
    const io = options.io ?? nativeIo;
    this.tun = openInterface(io, this.self(), this.settings);
    const wg = this.identity.keys.wireguard;
    const log = (line: string) => this.log(line);
    this.tunnel = startTunnel(this.self(), {
      tun: this.tun,
      openDataPath: io.openDataPath,
      privateKey: wg.privateKey,
      listenPort: this.settings.listenPort,
      mtu: TUN_MTU,
      timings: options.timings,
      relayBytesPerSecond: this.relays ? relayBytesPerSecond(this.relayRateMbit) : 0,
      onOverlayMessage: (data, from, via, a) => this.stopped || this.messaging.receive(data, from, via, a),
      onStunMessage: (data, from) => this.stun?.receive(data, from),
      // Busy paths are checked every second, idle ones rarely (core/discovery/constants.ts).
      onPeerTraffic: (peer) => {
        if (!this.stopped) this.paths.noteTraffic(peer);
      },
      sealedScreenKey: mac1Key(wg.publicKey),
    });
    // Read by modules that look members up by any key text (an event's, a message's).
    const peers: ReadonlyMap<string, DesiredPeer> = this.synced;
    this.routes = new RelayRoutes({ tun: this.tun, tunnel: this.tunnel, wireguard: wg, peers, log });
    this.announcer = new EndpointAnnouncer({
      settings: this.settings,
      relays: this.relays,
      roster: this.roster,
      io,
      tunnel: this.tunnel,
      signingKey: this.identity.keys.signing.secretKey,
      candidates: () => this.paths.candidates(),
      mapped: () => this.portMapper?.mapped ?? [],
      self: () => this.self(),
      publish: (record) => this.publish(record),
    });
    this.paths = new NodePaths(
      peerId(wg.publicKey),
      this.announcer.localCandidates(),
      this.announcer.userAnnounced(),
      {
        send: (to, body, endpoint, ...how) =>
          this.messaging.send(peerKey(to), { kind: 'discovery', body }, endpoint, ...how),
        holes: this.tunnel,
        sendVia: (to, body, via) =>
          this.messaging.sendVia(peerKey(to), { kind: 'discovery', body }, peerKey(via)),
        routeTo: (peer, endpoint) => this.routes.routeTo(peer, endpoint),
        routeVia: (peer, via) => this.routes.routeVia(peer, via),
        candidatesChanged: () => this.announcer.announce(),
        mappedBy: () => this.portMapper?.status().mapped?.protocol ?? null,
        log,
      },
    );
    const reannounce = () => this.stopped || this.tryAnnounce();
    this.portMapper = portMapperFor(this.settings.portMapping, io.portMap, this.tunnel.port, reannounce, log);
    this.stun =
      stunServers.length > 0
        ? new StunProbe(stunServers, {
            send: (datagram, to) => this.tunnel.sendOverlayMessage(datagram, to),
            reflexive: (server, endpoint) => this.paths.noteReflexive(server, endpoint),
            log,
          })
        : undefined;
    this.gossip = new RosterGossip({
      self: peerId(wg.publicKey),
      // Through retiringStore, so a kick that arrives keeps the kicked name and key.
      store: retiringStore(this.roster, this.invites.retired, () => this.saveInvites()),
      send: (to, body, endpoint) => this.messaging.send(peerKey(to), { kind: 'gossip', body }, endpoint),
      reachable: () => this.gossipTargets(),
      accepted: (records) => this.rosterChanged(records),
      // A member that started again: its relayed traffic waits on the relay key for its new epoch.
      urgent: (record) => announcesNewEpoch(this.roster, this.synced, record, Date.now()),
    });
    this.messaging = new SealedMessaging({
      keys: wg,
      tunnel: this.tunnel,
      responder: new JoinResponder({
        publicKey: wg.publicKey,
        isKnownInvite: (id) => this.invites.has(id),
        redeem: (id, secret, joiner, now) => redeemInvite(this, id, secret, joiner, now),
      }),
      memberName: (key, now) => this.roster.memberByWireguardKey(key, now)?.certificate.name,
      chosenEndpoint: (key) => this.paths.directEndpoint(key),
      peer: (key) => peers.get(key),
      handlers: {
        discovery: (from, body, source, arrival) => this.paths.receive(from, body, source, arrival),
        gossip: (from, body, replyTo) => this.gossip.receive(from, body, replyTo),
      },
      log,
    });
    this.maintenanceTimer = setInterval(() => this.maintain(), MAINTENANCE_MS);
  }

  static start(options: NodeOptions): OverlayNode {
    const state = NodeState.open(options.stateDir);
    if (!state) {
      throw new OverlayError('EUSAGE', 'this node is not in a network yet', {
        hint: 'create one with overlay init, or join one with overlay join CODE',
      });
    }
    const node = new OverlayNode(options, state);
    node.announcer.announce();
    node.rosterChanged([]);
    node.gossip.start();
    void node.stun?.start();
    if (options.serveNames) node.names = startNames(node, options);
    node.log(
      `up: ${node.self().certificate.name} ${node.self().certificate.ipv4} on ${node.tun.name}, UDP ${node.tunnel.port}`,
    );
    return node;
  }

  get interfaceName(): string {
    return this.tun.name;
  }

  /** Endpoints this node announces in its endpoint record. */
  get endpoints(): readonly string[] {
    return this.announcer.endpoints;
  }

  /** The tunnel's peers by WireGuard key (base64): every member but this node, and hosted devices. */
  get peers(): ReadonlyMap<string, DesiredPeer> {
    return this.synced;
  }

  /** What the sealed messages told about members: when each was last heard, clock skews, drops. */
  get heard(): Pick<SealedMessaging, 'lastHeardAt' | 'skewOf' | 'drops'> {
    return this.messaging;
  }

  log(line: string): void {
    this.options.log(line);
  }

  /** This node's own membership; throws if its certificate is gone (expired, revoked). */
  self(now = Date.now()): Member {
    const self = this.roster.memberByWireguardKey(this.identity.keys.wireguard.publicKey, now);
    if (!self) {
      throw new OverlayError('EUSAGE', "this node's certificate is expired or revoked", {
        hint: 'overlay leave, then join again with a new invite from an admin',
      });
    }
    return self;
  }

  /**
   * Says bye to the members it has a path to (they show it offline at once, not 40 s later, when
   * its silence runs out: status.ts) and releases the router's port mapping, then stops.
   */
  async stopWithFarewell(graceMs = 100): Promise<void> {
    if (this.stopped) return;
    // Twice, a grace apart: a lost datagram or a send thread slow to run must not hide the bye.
    this.gossip.stop();
    const released = this.portMapper?.stop();
    for (let copy = 0; copy < 2 && !this.stopped; copy++) {
      this.paths.farewell();
      await new Promise((resolve) => setTimeout(resolve, graceMs));
    }
    await released;
    this.stop();
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.gossip.stop();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    clearInterval(this.maintenanceTimer);
    this.paths.stop();
    this.stun?.stop();
    this.names?.stop();
    void this.portMapper?.stop();
    this.save();
    this.tunnel.close();
    this.tun.close();
    this.log('stopped');
  }

  /** A record this node made (a certificate it issued, a revocation, its endpoints): keep and spread it. */
  publish(record: GossipRecord): void {
    this.gossip.publish(record);
  }

  /** A record every member reachable now should have at once, kept nowhere here (leave.ts). */
  tellEveryone(record: GossipRecord): number {
    return this.gossip.tellEveryone(record);
  }

  /** One ping to a member over the path its traffic takes (memberPing.ts). */
  ping(member: Member, timeoutMs: number): Promise<MemberPong | null> {
    return pingMember(this.paths, this.messaging, member, timeoutMs);
  }

  saveInvites(): void {
    this.state.saveInvites(this.invites);
  }

  /** The members a gossip round may talk to: full members we have somewhere to send to. */
  private gossipTargets(): PeerId[] {
    return [...this.synced]
      .filter(([, p]) => p.member.certificate.kind === 'member' && this.messaging.reachable(p.publicKey))
      .map(([id]) => id);
  }

  private maintain(): void {
    if (this.stopped) return;
    const pruned = this.roster.prune(Date.now());
    this.paths.setLocal(this.announcer.localCandidates());
    this.portMapper?.checkNetwork();
    this.tryAnnounce();
    // Expiries change the member list without any record arriving.
    this.rosterChanged([]);
    if (pruned > 0) this.scheduleSave();
  }

  private tryAnnounce(): void {
    try {
      this.announcer.announce();
    } catch (e) {
      this.log(`could not announce endpoints: ${e instanceof Error ? e.message : e}`);
    }
  }

  /** New records: bring the tunnel's peers in line, and save the roster soon. */
  private rosterChanged(records: GossipRecord[]): void {
    const now = Date.now();
    this.names?.setMembers(this.roster.members(now));
    let self: Member;
    try {
      self = this.self(now);
    } catch {
      if (this.synced.size > 0) this.log('this node was removed from the network: dropping all peers');
      syncPeers(this.tunnel, new Map(), this.synced);
      this.scheduleSave();
      return;
    }
    const before = [...this.synced.keys()];
    if (!this.announcer.announcesOurEpoch(self)) this.tryAnnounce();
    const changes = syncPeers(this.tunnel, desiredPeers(this.roster, self, now), this.synced);
    this.routes.forgetGone();
    // What we knew of members who left goes with them.
    const isPeer = (key: string) => (this.synced as ReadonlyMap<string, DesiredPeer>).has(key);
    this.messaging.forgetLeft(
      isPeer,
      before.filter((key) => !isPeer(key)),
    );
    this.routes.installKeys();
    this.paths.setPeers(this.synced);
    for (const name of changes.added) this.log(`peer added: ${name}`);
    for (const name of changes.removed) this.log(`peer removed: ${name}`);
    if (records.length > 0) this.scheduleSave();
  }

  private scheduleSave(): void {
    if (this.saveTimer) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      this.save();
    }, SAVE_DELAY_MS);
  }

  private save(): void {
    try {
      this.state.saveRoster(this.roster);
    } catch (e) {
      this.log(`could not save the roster: ${e instanceof Error ? e.message : e}`);
    }
  }
}
