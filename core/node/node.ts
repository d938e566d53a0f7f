/**
 * A running member: the overlay interface and its tunnel, the roster kept in step by gossip,
 * join requests answered for this node's invites, and the control API's methods. Everything
 * protocol-shaped is done by the state machines in core/gossip, core/overlayWire and
 * core/membership; this class feeds them datagrams and time and carries out what they return.
 */
import { bytesEqual } from '../base/bytes.js';
import { type Endpoint, formatEndpoint, parseEndpoint } from '../base/endpoint.js';
import { encodeKey, type PeerId, peerKey } from '../base/keys.js';
import { decodeDiscovery, type Source } from '../discovery/index.js';
import { OverlayError } from '../errors.js';
import { Gossip } from '../gossip/gossip.js';
import type { GossipRecord } from '../gossip/recordStore.js';
import { type Identity, IdentityStore } from '../identity/identityStore.js';
import { ipv4InSubnet, ipv6InSubnet } from '../membership/addressing.js';
import type { InviteBook } from '../membership/inviteBook.js';
import { publishEndpoints } from '../membership/issue.js';
import { retiringStore } from '../membership/retiredMembers.js';
import type { Member, Roster } from '../membership/roster.js';
import { type InnerMessage, JoinResponder, mac1Key, SealedChannel } from '../overlayWire/index.js';
import { type NodeIo, nativeIo, type TunDevice } from '../tunnel/io.js';
import { RELAYED_MTU, TUN_MTU } from '../tunnel/mtu.js';
import { Tunnel } from '../tunnel/tunnel.js';
import { redeemInvite } from './admin.js';
import { localEndpoints } from './localEndpoints.js';
import { type NodeSettings, NodeState } from './nodeState.js';
import { OverlayInbox } from './overlayInbox.js';
import { NodePaths } from './paths.js';
import { type DesiredPeer, desiredPeers, syncPeers } from './peerSync.js';
import { Pinger } from './pinger.js';
import { relayPairSecret, relayTag } from './relayKeys.js';
import { StunProbe } from './stunProbe.js';

/** Roster writes are batched: gossip may bring hundreds of records in a second. */
const SAVE_DELAY_MS = 500;
/**
 * How often the node looks again at what changes without a message: certificates expiring,
 * records to prune, its own addresses (a laptop that moved to another network).
 */
const MAINTENANCE_MS = 15_000;
/** How often each member's traffic counters are read to tell discovery which paths carry traffic. */
const ACTIVITY_POLL_MS = 1_000;
/** A member whose tunnel moved no packet for this long is idle: its path is checked less often. */
const IDLE_AFTER_MS = 10_000;

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
  /** The TUN device, data path and interface list: the machine's own unless a test gives twins. */
  io?: NodeIo;
}

export class OverlayNode {
  readonly identity: Identity;
  readonly settings: NodeSettings;
  readonly roster: Roster;
  readonly invites: InviteBook;
  readonly startedAt = Date.now();
  /** Whether this node relays between other members (not with --no-relay). */
  readonly relays: boolean;
  /** Endpoints this node announces in its endpoint record. */
  endpoints: string[] = [];
  /** When each member (by WireGuard key) last reached us with an authenticated message. */
  readonly lastHeard = new Map<string, number>();
  /** Where each member's messages last came from: the address that works, whatever it announces. */
  readonly observed = new Map<string, Endpoint>();
  readonly peers = new Map<string, DesiredPeer>();
  private readonly tun: TunDevice;
  private readonly io: NodeIo;
  readonly tunnel: Tunnel;
  private readonly channel: SealedChannel;
  private readonly gossip: Gossip;
  /** overlay's own datagrams: who sent them is checked here before they cost anything. */
  readonly inbox: OverlayInbox;
  private readonly pinger = new Pinger();
  /** Members (WireGuard key) whose overlay addresses have a RELAYED_MTU route, and those prefixes. */
  private readonly relayedRoutes = new Map<string, string[]>();
  readonly paths: NodePaths;
  /** --stun: undefined when no server was given. */
  readonly stun: StunProbe | undefined;
  private gossipTimer: NodeJS.Timeout | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private readonly maintenanceTimer: NodeJS.Timeout;
  private readonly activityTimer: NodeJS.Timeout;
  /** Per member: its tunnel's byte count when last read, and when it last changed. */
  private readonly activity = new Map<string, { packets: number; changedAt: number; active: boolean }>();
  private stopped = false;

  private constructor(
    private readonly options: NodeOptions,
    private readonly state: NodeState,
  ) {
    const { stateDir } = options;
    this.identity = IdentityStore.openOrCreate(stateDir).load();
    this.settings = state.settings();
    this.relays = options.relay ?? this.settings.relay;
    const stunServers = options.stun ?? this.settings.stun;
    this.roster = state.loadRoster();
    this.invites = state.loadInvites();
    const self = this.self();
    this.io = options.io ?? nativeIo;
    this.tun = openInterface(this.io, self, this.settings.network.ipv4Subnet.prefix);
    const wg = this.identity.keys.wireguard;
    try {
      this.tunnel = new Tunnel({
        tun: this.tun,
        openDataPath: this.io.openDataPath,
        privateKey: wg.privateKey,
        listenPort: this.settings.listenPort,
        mtu: TUN_MTU,
        timings: options.timings,
        ...(!this.relays && { relayRatePerSecond: 0 }),
        onOverlayMessage: (data, from, via) => this.onOverlayMessage(data, from, via),
        onStunMessage: (data, from) => this.stun?.receive(data, from),
        sealedScreenKey: mac1Key(wg.publicKey),
      });
    } catch (e) {
      this.tun.close();
      throw dataPathError(e, this.settings.listenPort);
    }
    this.channel = new SealedChannel({ privateKey: wg.privateKey, publicKey: wg.publicKey });
    this.paths = new NodePaths(encodeKey(wg.publicKey), this.localCandidates(), this.settings.announce, {
      send: (to, body, endpoint) => {
        const ep = parseEndpoint(endpoint);
        if (ep) this.sendSealed(keyBytes(to), { kind: 'discovery', body }, ep);
      },
      sendVia: (to, body, via) => {
        const toKey = keyBytes(to);
        const sealed = this.channel.seal(toKey, { kind: 'discovery', body }, Date.now());
        this.tunnel.sendOverlayMessageVia(sealed, toKey, keyBytes(via));
      },
      routeTo: (peer, endpoint) => {
        const ep = parseEndpoint(endpoint);
        const known = this.peers.get(peer);
        if (ep && known && this.tunnel.setPeerPath(known.publicKey, { direct: ep }))
          this.setRelayedMtu(peer, false);
      },
      routeVia: (peer, via) => {
        const known = this.peers.get(peer);
        const relay = this.peers.get(via);
        if (!known || !relay) return;
        if (!this.tunnel.setPeerPath(known.publicKey, { relayVia: relay.publicKey }))
          this.log(`could not route ${peer.slice(0, 8)} through ${via.slice(0, 8)}`);
        else this.setRelayedMtu(peer, true);
      },
      candidatesChanged: () => this.announceEndpoints(),
      log: (line) => this.log(line),
    });
    this.stun =
      stunServers.length > 0
        ? new StunProbe(stunServers, {
            send: (datagram, to) => this.tunnel.sendOverlayMessage(datagram, to),
            reflexive: (server, endpoint) => this.paths.noteReflexive(server, endpoint),
            log: (line) => this.log(line),
          })
        : undefined;
    // Gossip offers through retiringStore, so a kick that arrives keeps the kicked name and key.
    const store = retiringStore(this.roster, this.invites.retired, () => this.saveInvites());
    this.gossip = new Gossip({ self: encodeKey(wg.publicKey), store });
    this.maintenanceTimer = setInterval(() => this.maintain(), MAINTENANCE_MS);
    this.activityTimer = setInterval(() => this.noteActivity(), ACTIVITY_POLL_MS);
    const responder = new JoinResponder({
      publicKey: wg.publicKey,
      isKnownInvite: (id) => this.invites.has(id),
      redeem: (id, secret, joiner, now) => redeemInvite(this, id, secret, joiner, now),
    });
    this.inbox = new OverlayInbox({
      channel: this.channel,
      responder,
      memberName: (key, now) => this.roster.memberByWireguardKey(key, now)?.certificate.name,
      fromMember: (sender, message, from, via) => this.fromMember(sender, message, from, via),
      sendClear: (bytes, to) => this.tunnel.sendOverlayMessage(bytes, to),
      sendSealedBytes: (bytes, to) => this.tunnel.sendOverlayMessage(bytes, to),
      log: (line) => this.log(line),
    });
  }

  static start(options: NodeOptions): OverlayNode {
    const state = NodeState.open(options.stateDir);
    if (!state) {
      throw new OverlayError('EUSAGE', 'this node is not in a network yet', {
        hint: 'create one with overlay init, or join one with overlay join CODE',
      });
    }
    const node = new OverlayNode(options, state);
    node.announceEndpoints();
    node.rosterChanged([]);
    node.scheduleGossip(0);
    void node.stun?.start();
    node.log(
      `up: ${node.self().certificate.name} ${node.self().certificate.ipv4} on ${node.tun.name}, UDP ${node.tunnel.port}`,
    );
    return node;
  }

  get interfaceName(): string {
    return this.tun.name;
  }

  log(line: string): void {
    this.options.log(line);
  }

  /** This node's own membership; throws if its certificate is gone (expired, revoked). */
  self(now = Date.now()): Member {
    const self = this.roster.memberByWireguardKey(this.identity.keys.wireguard.publicKey, now);
    if (!self) {
      throw new OverlayError('EUSAGE', "this node's certificate is expired or revoked", {
        hint: 'ask an admin of the network for a new invite and join again',
      });
    }
    return self;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.gossipTimer) clearTimeout(this.gossipTimer);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    clearInterval(this.maintenanceTimer);
    clearInterval(this.activityTimer);
    this.pinger.close();
    this.paths.stop();
    this.stun?.stop();
    this.save();
    this.tunnel.close();
    this.tun.close();
    this.log('stopped');
  }

  /** A record this node made (a certificate it issued, a revocation, its endpoints): keep and spread it. */
  publish(record: GossipRecord): void {
    const { send, result } = this.gossip.publish(record, Date.now());
    this.sendGossip(send);
    if (result !== 'invalid') this.rosterChanged([record]);
  }

  /**
   * One ping to a member over the path its traffic takes; null when no pong comes in time or the
   * member has no known address.
   */
  async ping(
    member: Member,
    timeoutMs: number,
  ): Promise<{ rttMs: number; endpoint: string; path: 'direct' | 'relay' } | null> {
    if (!this.reachable(member.certificate.wireguardKey)) return null;
    const { body, pong } = this.pinger.ping(timeoutMs);
    this.sendSealed(member.certificate.wireguardKey, { kind: 'discovery', body });
    const answer = await pong;
    if (!answer) return null;
    const relayed = answer.from.startsWith('via ');
    return { rttMs: answer.rttMs, endpoint: answer.from, path: relayed ? 'relay' : 'direct' };
  }

  saveInvites(): void {
    this.state.saveInvites(this.invites);
  }

  /**
   * Sends one sealed message to a member (by WireGuard key): to `to` when given, else along the
   * path its traffic takes (through its relay when relayed), else at its best known address.
   */
  sendSealed(publicKey: Uint8Array, message: InnerMessage, to?: Endpoint): void {
    if (!to && this.tunnel.peerRelay(publicKey) !== undefined) {
      this.tunnel.sendOverlayMessageToPeer(this.channel.seal(publicKey, message, Date.now()), publicKey);
      return;
    }
    const target = to ?? this.addressOf(encodeKey(publicKey));
    if (!target) return;
    this.tunnel.sendOverlayMessage(this.channel.seal(publicKey, message, Date.now()), target);
  }

  /**
   * A discovery message from member `from`: a pong to our own `overlay ping` is settled here (and
   * answered from where it came: an address, or "via NAME" through a relay), everything else is
   * discovery's.
   */
  private onDiscovery(from: string, body: Uint8Array, source: Source): void {
    const decoded = decodeDiscovery(body);
    if (!decoded.ok) return;
    const m = decoded.message;
    if (m.kind === 'pong') {
      const answeredFrom =
        'via' in source
          ? `via ${this.peers.get(source.via)?.member.certificate.name ?? source.via.slice(0, 8)}`
          : source.endpoint;
      if (this.pinger.receivePong(m.txid, answeredFrom)) return;
    }
    this.paths.receive(from, m, source);
  }

  /** Whether sendSealed has anywhere to send: a relay the peer's traffic goes through, or an address. */
  private reachable(publicKey: Uint8Array): boolean {
    return (
      this.tunnel.peerRelay(publicKey) !== undefined || this.addressOf(encodeKey(publicKey)) !== undefined
    );
  }

  /**
   * Where to send a member's sealed messages: the direct path discovery chose; before it has one,
   * where the member's messages last came from (a member that just came up announces only its LAN
   * address until peers tell it its public one, so its record would send our answers nowhere);
   * then the tunnel's endpoint, then the record's.
   */
  private addressOf(key: string): Endpoint | undefined {
    const chosen = this.paths?.directEndpoint(key);
    if (chosen) return parseEndpoint(chosen);
    const observed = this.observed.get(key);
    if (observed) return observed;
    const known = this.peers.get(key);
    const status = known ? this.tunnel.peerStatus(known.publicKey) : undefined;
    const fromTunnel = status?.endpoint ? parseEndpoint(status.endpoint) : undefined;
    return fromTunnel ?? (known?.endpoint ? parseEndpoint(known.endpoint) : undefined);
  }

  /** This machine's interface addresses with the node's port, the overlay's own left out. */
  private localCandidates(): string[] {
    const network = this.settings.network;
    return localEndpoints(this.tunnel.port, {
      interfaces: this.io.networkInterfaces(),
      exclude: (a) => ipv4InSubnet(a, network.ipv4Subnet) || ipv6InSubnet(a, network.ipv6Subnet),
    }).map(formatEndpoint);
  }

  /**
   * Publishes this node's endpoint record when what it can be reached at has changed: announced
   * addresses first, then discovery's candidates (interfaces and the reflexive addresses peers see),
   * and our data path's relay epoch — new at every start, so every start publishes a record, and
   * members derive this data path's relay keys once it reaches them (issue 10).
   */
  private announceEndpoints(): void {
    const self = this.self();
    const candidates = this.paths ? this.paths.candidates() : this.localCandidates();
    const endpoints = [...new Set([...this.settings.announce, ...candidates])].slice(0, 8);
    this.endpoints = endpoints;
    if (
      endpoints.join() === self.endpoints.join() &&
      self.relay === this.relays &&
      this.announcesOurEpoch(self)
    )
      return;
    this.publish(
      publishEndpoints(this.roster, endpoints, this.identity.keys.signing.secretKey, Date.now(), {
        noRelay: !this.relays,
        relayEpoch: this.tunnel.relayEpoch,
      }),
    );
  }

  /**
   * Whether our record in the roster carries this data path's relay epoch. It may not after a
   * crash: gossip can bring back a record of our previous life newer than the one we made at start
   * (its seq is the wall clock, which may have stepped back), and members would derive keys for an
   * epoch no data path has any more, until we publish again.
   */
  private announcesOurEpoch(self: Member): boolean {
    return self.relayEpoch !== null && bytesEqual(self.relayEpoch, this.tunnel.relayEpoch);
  }

  /**
   * Tells discovery which members' paths carry traffic: those are checked every second (a dead path
   * is left within 3 s), the idle ones every 5 s, which is most of what an idle node sends.
   */
  private noteActivity(): void {
    if (this.stopped) return;
    const now = Date.now();
    for (const [key, peer] of this.peers) {
      const s = this.tunnel.peerStatus(peer.publicKey);
      const packets = (s?.rxBytes ?? 0) + (s?.txBytes ?? 0);
      const seen = this.activity.get(key);
      const changedAt = seen === undefined || seen.packets !== packets ? now : seen.changedAt;
      const active = now - changedAt < IDLE_AFTER_MS;
      if (seen?.active !== active) this.paths.setActive(key, active);
      this.activity.set(key, { packets, changedAt, active });
    }
  }

  private maintain(): void {
    if (this.stopped) return;
    const pruned = this.roster.prune(Date.now());
    this.paths.setLocal(this.localCandidates());
    try {
      this.announceEndpoints();
    } catch (e) {
      this.log(`could not announce endpoints: ${e instanceof Error ? e.message : e}`);
    }
    // Expiries change the member list without any record arriving.
    this.rosterChanged([]);
    if (pruned > 0) this.scheduleSave();
  }

  private onOverlayMessage(data: Uint8Array, from: Endpoint, via?: Uint8Array): void {
    if (this.stopped) return;
    this.inbox.receive(data, from, via, Date.now());
  }

  /** A member's message, authenticated and fresh (OverlayInbox checked who sent it). */
  private fromMember(
    sender: Uint8Array,
    msg: InnerMessage,
    from: Endpoint,
    via: Uint8Array | undefined,
  ): void {
    const now = Date.now();
    const key = encodeKey(sender);
    this.lastHeard.set(key, now);
    // Through a relay, `from` is the relay's address, not where this member can be reached.
    if (!via) this.observed.set(key, from);
    const source: Source = via ? { via: encodeKey(via) } : { endpoint: formatEndpoint(from) };
    if (msg.kind === 'discovery') {
      this.onDiscovery(key, msg.body, source);
      return;
    }
    if (msg.kind !== 'gossip') return;
    const result = this.gossip.receive(key, msg.body, now);
    // Answers go back the way the question came: our path to a member that just came up may still
    // be a guess (a relay chosen blind while it was down) when its first digest arrives.
    this.sendGossip(result.send, via ? undefined : { to: key, endpoint: from });
    if (result.accepted.length > 0) this.rosterChanged(result.accepted);
  }

  private sendGossip(
    sends: { to: string; message: Uint8Array }[],
    replyTo?: { to: string; endpoint: Endpoint },
  ): void {
    for (const { to, message } of sends) {
      const endpoint = replyTo?.to === to ? replyTo.endpoint : undefined;
      this.sendSealed(keyBytes(to), { kind: 'gossip', body: message }, endpoint);
    }
  }

  private scheduleGossip(delayMs: number): void {
    if (this.stopped) return;
    this.gossipTimer = setTimeout(() => {
      const now = Date.now();
      const reachable = [...this.peers.values()]
        .filter((p) => p.member.certificate.kind === 'member')
        .filter((p) => this.reachable(p.publicKey))
        .map((p) => encodeKey(p.publicKey));
      const { send, nextWakeAt } = this.gossip.tick(now, reachable);
      this.sendGossip(send);
      this.scheduleGossip(Math.max(50, nextWakeAt - Date.now()));
    }, delayMs);
  }

  /** New records: bring the tunnel's peers in line, and save the roster soon. */
  private rosterChanged(records: GossipRecord[]): void {
    const now = Date.now();
    let self: Member;
    try {
      self = this.self(now);
    } catch {
      if (this.peers.size > 0) this.log('this node was removed from the network: dropping all peers');
      syncPeers(this.tunnel, new Map(), this.peers);
      this.scheduleSave();
      return;
    }
    const before = [...this.peers.keys()];
    if (!this.announcesOurEpoch(self)) {
      try {
        this.announceEndpoints();
      } catch (e) {
        this.log(`could not announce endpoints: ${e instanceof Error ? e.message : e}`);
      }
    }
    const changes = syncPeers(this.tunnel, desiredPeers(this.roster, self, now), this.peers);
    for (const peer of this.relayedRoutes.keys()) if (!this.peers.has(peer)) this.dropRelayedMtu(peer);
    // What we knew of members who left goes with them.
    for (const map of [this.lastHeard, this.observed, this.activity]) {
      for (const key of map.keys()) if (!this.peers.has(key)) map.delete(key);
    }
    for (const key of before) if (!this.peers.has(key)) this.inbox.forget(keyBytes(key));
    this.installRelayKeys();
    this.paths?.setPeers(
      [...this.peers.values()]
        .filter((p) => p.member.certificate.kind === 'member')
        .map((p) => ({
          id: encodeKey(p.publicKey),
          name: p.member.certificate.name,
          candidates: p.member.endpoints,
          relay: p.member.relay,
        })),
    );
    for (const name of changes.added) this.log(`peer added: ${name}`);
    for (const name of changes.removed) this.log(`peer removed: ${name}`);
    if (records.length > 0) this.scheduleSave();
  }

  /**
   * Every member peer that announces a relay epoch gets a relay key for it, so any of them can
   * relay for us, be relayed to, or use us as its relay. A member's new epoch (it started again)
   * replaces the key, and with it the replay window; which epoch is new is the endpoint record's
   * version to say, never an envelope's (issue 10). Its WireGuard sessions died with its old data
   * path, so ours are dropped and a new handshake starts. A member whose record has no epoch (an
   * older version) gets no key. A removed peer's key goes with it (the data path wipes it on
   * removePeer).
   */
  private installRelayKeys(): void {
    const wg = this.identity.keys.wireguard;
    const local = relayTag(wg.publicKey);
    for (const p of this.peers.values()) {
      const epoch = p.member.relayEpoch;
      if (p.member.certificate.kind !== 'member' || !epoch) continue;
      const installed = this.tunnel.relayKeyEpoch(p.publicKey);
      if (installed && bytesEqual(installed, epoch)) continue;
      const secret = relayPairSecret(wg.privateKey, p.publicKey);
      if (!secret) continue;
      try {
        this.tunnel.setRelayKey(p.publicKey, secret, { local, remote: relayTag(p.publicKey) }, epoch);
        if (installed) this.tunnel.peerRestarted(p.publicKey);
      } catch (e) {
        this.log(`no relay key for ${p.member.certificate.name}: ${e instanceof Error ? e.message : e}`);
      } finally {
        secret.fill(0);
      }
    }
  }

  /**
   * A relayed member's addresses get a route with the smaller MTU, so the kernel sizes packets
   * (and TCP segments) for the envelope; a direct path takes the interface's MTU back.
   */
  private setRelayedMtu(peer: string, relayed: boolean): void {
    const known = this.peers.get(peer);
    if (relayed && known && !this.relayedRoutes.has(peer)) {
      const prefixes = [`${known.member.certificate.ipv4}/32`, `${known.member.certificate.ipv6}/128`];
      try {
        for (const prefix of prefixes) this.tun.setRouteMtu(prefix, RELAYED_MTU);
        this.relayedRoutes.set(peer, prefixes);
      } catch (e) {
        this.log(
          `could not lower the MTU to ${known.member.certificate.name}: ${e instanceof Error ? e.message : e}`,
        );
      }
    } else if (!relayed) {
      this.dropRelayedMtu(peer);
    }
  }

  private dropRelayedMtu(peer: string): void {
    const prefixes = this.relayedRoutes.get(peer);
    if (!prefixes) return;
    this.relayedRoutes.delete(peer);
    for (const prefix of prefixes) {
      try {
        this.tun.setRouteMtu(prefix, null);
      } catch (e) {
        this.log(`could not remove the route to ${prefix}: ${e instanceof Error ? e.message : e}`);
      }
    }
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

/** Gossip's and discovery's ids are peer ids typed as strings (core/base/keys.ts). */
function keyBytes(id: string): Uint8Array {
  return peerKey(id as PeerId);
}

/** Why the data path did not start, as the code `up` reports: its port taken is a case of its own. */
function dataPathError(e: unknown, port: number): OverlayError {
  const err = e as { code?: string; message?: string };
  if (err.code === 'EADDRINUSE') {
    return new OverlayError('EPORT_TAKEN', `UDP port ${port} is taken by another program`, {
      hint: `find it with: ss -ulpn 'sport = :${port}', and stop it`,
      cause: e,
    });
  }
  return new OverlayError(
    'ETUN',
    `cannot start the data path on UDP port ${port}: ${err.message ?? String(e)}`,
    {
      cause: e,
    },
  );
}

/** The overlay interface: kernel-named ovlN, MTU, up, this member's addresses. */
function openInterface(io: NodeIo, self: Member, ipv4Prefix: number): TunDevice {
  let tun: TunDevice;
  try {
    tun = io.openTun('ovl%d');
  } catch (e) {
    const err = e as { code?: string; message?: string };
    if (err.code === 'EPERM') {
      throw new OverlayError('EPERM', 'creating the overlay interface needs root (or CAP_NET_ADMIN)', {
        hint: 'run with sudo',
        cause: e,
      });
    }
    if (err.code === 'ENOTUN') {
      throw new OverlayError('ENOTUN', 'this system has no /dev/net/tun', {
        hint: 'load the tun module (modprobe tun), or give the container the device',
        cause: e,
      });
    }
    if (err.code === 'EBUSY') {
      throw new OverlayError(
        'EBUSY',
        `cannot create the overlay interface: its name is taken (${err.message})`,
        {
          hint: 'remove the link that holds the name (ip link), or stop the program using it',
          cause: e,
        },
      );
    }
    throw new OverlayError('ETUN', `cannot create the overlay interface: ${err.message}`, { cause: e });
  }
  try {
    tun.setMtu(TUN_MTU);
    tun.up();
    // The subnet's prefix gives the kernel an on-link route for the whole overlay through ovlN.
    tun.addAddress(`${self.certificate.ipv4}/${ipv4Prefix}`);
    tun.addAddress(`${self.certificate.ipv6}/64`);
  } catch (e) {
    tun.close();
    throw new OverlayError('ETUN', `cannot configure ${tun.name}: ${(e as Error).message}`, { cause: e });
  }
  return tun;
}
