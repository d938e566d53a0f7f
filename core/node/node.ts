import { peerId, peerKey } from '../base/keys.js';
import { OverlayError } from '../errors.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Identity, IdentityStore } from '../identity/identityStore.js';
import type { InviteBook } from '../membership/inviteBook.js';
import { retiringStore } from '../membership/retiredMembers.js';
import type { Member, Roster } from '../membership/roster.js';
import { JoinResponder, mac1Key } from '../overlayWire/index.js';
import { type PortMapper, portMapperFor } from '../portmap/portMapper.js';
import { nativeIo, type TunDevice } from '../tunnel/io.js';
import { TUN_MTU } from '../tunnel/mtu.js';
import type { Tunnel } from '../tunnel/tunnel.js';
import { DEFAULT_RELAY_RATE_MBIT, relayBytesPerSecond } from '../tunnel/types.js';
import { redeemInvite } from './admin.js';
import { EndpointAnnouncer } from './endpointAnnouncer.js';
import { type MemberPong, pingMember } from './memberPing.js';
import { type NodeDns, startNames } from './nodeDns.js';
import { type NodeOptions, runSettings } from './nodeOptions.js';
import { type NodeSettings, NodeState } from './nodeState.js';
import { openInterface, startTunnel } from './openInterface.js';
import { NodePaths } from './paths.js';
import { announcesNewEpoch, type DesiredPeer } from './peerSync.js';
import { RelayRoutes } from './relayRoutes.js';
import { RosterGossip } from './rosterGossip.js';
import { RosterSaver } from './rosterSaver.js';
import { SealedMessaging } from './sealedMessaging.js';
import { StunProbe } from './stunProbe.js';
import { TunnelPeers } from './tunnelPeers.js';

/**
 * How often the node looks again at what changes without a message: certificates expiring,
 * records to prune, its own addresses. Every 30 s: each look costs an idle node a few ms of CPU.
 */
const MAINTENANCE_MS = 30_000;

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
  private readonly tunnelPeers: TunnelPeers;
  private readonly messaging: SealedMessaging;
  private readonly routes: RelayRoutes;
  private readonly announcer: EndpointAnnouncer;
  private readonly gossip: RosterGossip;
  /** The resolver, when `serveNames`. */
  names: NodeDns | undefined;
  private readonly saver: RosterSaver;
  private readonly maintenanceTimer: NodeJS.Timeout;
  private stopped = false;

  private constructor(
    private readonly options: NodeOptions,
    private readonly state: NodeState,
  ) {
    this.identity = IdentityStore.openOrCreate(options.stateDir).load();
    this.settings = runSettings(options, state.settings());
    this.relays = options.relay ?? this.settings.relay;
    this.relayRateMbit = this.settings.relayRateMbit ?? DEFAULT_RELAY_RATE_MBIT;
    const stunServers = options.stun ?? this.settings.stun;
    this.roster = state.loadRoster();
    this.saver = new RosterSaver(state, this.roster, (line) => this.log(line));
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
    this.tunnelPeers = new TunnelPeers({
      tunnel: this.tunnel,
      roster: this.roster,
      announceIfStale: (self) => {
        if (!this.announcer.announcesOurEpoch(self)) this.tryAnnounce();
      },
      routes: () => this.routes,
      messaging: () => this.messaging,
      paths: () => this.paths,
      log,
    });
    // Read by modules that look members up by any key text (an event's, a message's).
    const peers: ReadonlyMap<string, DesiredPeer> = this.tunnelPeers.current;
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
      reachable: () => this.tunnelPeers.gossipTargets(),
      accepted: (records) => this.rosterChanged(records),
      // A member that started again: its relayed traffic waits on the relay key for its new epoch.
      urgent: (record) => announcesNewEpoch(this.roster, this.tunnelPeers.current, record, Date.now()),
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
    return this.tunnelPeers.current;
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
    clearInterval(this.maintenanceTimer);
    this.paths.stop();
    this.stun?.stop();
    this.names?.stop();
    void this.portMapper?.stop();
    this.saver.flush();
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

  private maintain(): void {
    if (this.stopped) return;
    const pruned = this.roster.prune(Date.now());
    this.paths.setLocal(this.announcer.localCandidates());
    this.portMapper?.checkNetwork();
    this.tryAnnounce();
    // Expiries change the member list without any record arriving.
    this.rosterChanged([]);
    if (pruned > 0) this.saver.schedule();
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
      this.tunnelPeers.dropAll();
      this.saver.schedule();
      return;
    }
    this.tunnelPeers.sync(self, now);
    if (records.length > 0) this.saver.schedule();
  }
}
