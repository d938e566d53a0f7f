/**
 * Whole OverlayNodes in one process, without root: each on a machine of a simulated internet
 * (test/discovery/netSim.ts) with memory twins for its TUN device and data path (memoryIo.ts), all
 * on one clock (scenarioClock.ts: simulated unless asked otherwise). A founder creates the network
 * as `overlay init` does; the others join with an invite code over the simulated network, as
 * `overlay join` does, then start. Everything is stopped, timers and all, when the test ends.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import type { ExecutionContext } from 'ava';
import { type PeerId, peerId } from '../../core/base/keys.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { createNetwork } from '../../core/membership/issue.js';
import { createInvite } from '../../core/node/admin.js';
import { join } from '../../core/node/join.js';
import { OverlayNode } from '../../core/node/node.js';
import { NodeState } from '../../core/node/nodeState.js';
import { nodeStatus, type PeerStatus } from '../../core/node/status.js';
import type { PortMapIo } from '../../core/portmap/portMapIo.js';
import { decodeBindingRequest, encodeBindingSuccess } from '../../core/stun/index.js';
import { secureRandom } from '../../core/wireguard/primitives.js';
import { type Filtering, type Mapping, type SimNat, SimNet } from '../discovery/netSim.js';
import { seededUniform } from '../helpers/seeded.js';
import { buildUdpPacket, parseUdpPacket } from '../helpers/tun-packets.js';
import type { SimMachine } from './memoryDataPath.js';
import { type MemoryIo, memoryIo, memoryJoinSocket } from './memoryIo.js';
import { type ClockKind, type ScenarioClock, scenarioClock, settle, until } from './scenarioClock.js';

const PORT = 51820;

export interface TwinNode {
  readonly name: string;
  readonly dir: string;
  readonly machine: SimMachine;
  readonly io: MemoryIo;
  readonly logs: string[];
  /** The overlay address its certificate gave it (kept here: a kicked node has no certificate). */
  readonly ipv4: string;
  /** What `overlay up` was given: --no-relay, --stun. */
  readonly up: UpOptions;
  node: OverlayNode;
}

export interface UpOptions {
  relay?: boolean;
  stun?: string[];
  /** The router in front of the machine, when it offers port mapping (fakeRouter.ts). */
  portMap?: PortMapIo;
}

export interface WorldOptions {
  seed?: number;
  loss?: number;
  internetLatencyMs?: number;
  jitterMs?: number;
  /** 'sim' (default): simulated time, see scenarioClock.ts. */
  clock?: ClockKind;
}

export class NodeWorld {
  readonly net: SimNet;
  readonly clock: ScenarioClock;
  readonly nodes: TwinNode[] = [];
  private readonly root: string;
  private packetSeq = 0;

  constructor(t: Pick<ExecutionContext, 'title' | 'teardown'>, options: WorldOptions = {}) {
    // The clock first: the network reads the time it installs.
    this.clock = scenarioClock(options.clock ?? 'sim');
    this.net = new SimNet({
      random: seededUniform(options.seed ?? 1),
      // Events on the process's timers, which the scenario clock may have replaced.
      clock: 'real',
      lanLatencyMs: 1,
      internetLatencyMs: options.internetLatencyMs ?? 5,
      loss: options.loss ?? 0,
      jitterMs: options.jitterMs ?? 0,
    });
    this.root = mkdtempSync(joinPath(tmpdir(), 'ovl-twins-'));
    const cpu = process.cpuUsage();
    t.teardown(() => {
      // The whole process's CPU: the scenarios run serially, so this is the scenario's own.
      const used = process.cpuUsage(cpu);
      const simulated =
        this.clock.kind === 'sim' ? `, ${(this.clock.elapsed() / 1000).toFixed(0)} s simulated` : '';
      console.log(`${t.title}: CPU ${Math.round((used.user + used.system) / 1000)} ms${simulated}`);
      for (const n of this.nodes) n.node.stop();
      this.net.close();
      this.clock.close();
      rmSync(this.root, { recursive: true, force: true });
    });
  }

  nat(
    name: string,
    publicIp: string,
    mapping: Mapping,
    filtering?: Filtering,
    options: { firewall?: boolean } = {},
  ): SimNat {
    return this.net.addNat(name, publicIp, mapping, filtering, options);
  }

  machine(name: string, ip: string, nat?: SimNat): SimMachine {
    return { net: this.net, name, ip, ...(nat && { nat }) };
  }

  /** `overlay init --name NAME` then `overlay up` on `machine`. */
  found(name: string, machine: SimMachine, up: UpOptions = {}): TwinNode {
    const dir = joinPath(this.root, name);
    const identityStore = IdentityStore.openOrCreate(dir);
    const { keys } = identityStore.load();
    const created = createNetwork({
      name,
      member: { wireguardKey: keys.wireguard.publicKey, signingKey: keys.signing.publicKey },
      random: secureRandom,
      now: Date.now(),
    });
    const settings = {
      network: created.network,
      networkSecretKey: created.networkKeyPair.secretKey,
      listenPort: PORT,
      announce: [],
      relay: true,
      stun: [],
      dns: true,
    };
    NodeState.create(dir, settings, created.roster);
    identityStore.setName(name);
    return this.start(name, dir, machine, up);
  }

  /** `overlay invite` on `inviter`, `overlay join CODE --name NAME` and `overlay up` on `machine`. */
  async join(
    name: string,
    machine: SimMachine,
    inviter: TwinNode,
    up: UpOptions = {},
    invite: { admin?: boolean } = {},
  ): Promise<TwinNode> {
    const { code } = createInvite(inviter.node, {
      expiresInMs: 60_000,
      uses: 1,
      label: null,
      admin: invite.admin === true,
    });
    const dir = joinPath(this.root, name);
    await settle(
      this.clock,
      join({
        stateDir: dir,
        code,
        name,
        listenPort: PORT,
        openSocket: memoryJoinSocket(machine),
        retryDelaysMs: [0, 300, 600, 1200],
      }),
    );
    return this.start(name, dir, machine, up);
  }

  private start(name: string, dir: string, machine: SimMachine, up: UpOptions): TwinNode {
    const { portMap, ...options } = up;
    const io: MemoryIo = portMap ? { ...memoryIo(machine), portMap } : memoryIo(machine);
    const logs: string[] = [];
    const node = OverlayNode.start({ stateDir: dir, log: (line) => logs.push(line), io, ...options });
    const ipv4 = node.self().certificate.ipv4;
    const twin: TwinNode = { name, dir, machine, io, logs, ipv4, up, node };
    this.nodes.push(twin);
    return twin;
  }

  /** Stops a node and starts it again from its state directory (a restart, or `down` then `up`). */
  restart(n: TwinNode): void {
    n.node.stop();
    const { portMap: _, ...options } = n.up;
    n.node = OverlayNode.start({ stateDir: n.dir, log: (line) => n.logs.push(line), io: n.io, ...options });
  }

  /**
   * The node's process dies without a word (kill -9): its socket is gone, so nothing reaches it
   * any more, and its timers stop in the same step. stop() sends nothing (a bye is
   * stopWithFarewell's): the others must find out from its silence.
   */
  crash(n: TwinNode): void {
    const socket = this.net.hostAt(n.machine.ip, n.node.tunnel.port, n.machine.nat);
    if (socket) this.net.removeHost(socket);
    n.node.stop();
  }

  /** The machine takes another address (a laptop on another network): its socket moves with it. */
  move(n: TwinNode, ip: string): void {
    n.machine.ip = ip;
    n.io.dataPaths.at(-1)!.socket.ip = ip;
  }

  /** A STUN server (RFC 8489 Binding only) at `endpoint`: answers with the source it sees. */
  stunServer(endpoint: string): { answered: number } {
    const at = endpoint.lastIndexOf(':');
    const host = this.net.addHost(`stun ${endpoint}`, endpoint.slice(0, at), Number(endpoint.slice(at + 1)));
    const server = { answered: 0 };
    host.receive = (bytes, from) => {
      const request = decodeBindingRequest(bytes);
      if (!request.ok) return;
      const i = from.lastIndexOf(':');
      server.answered++;
      const mapped = { address: from.slice(0, i), port: Number(from.slice(i + 1)) };
      this.net.send(host, from, encodeBindingSuccess(request.txid, mapped));
    };
    return server;
  }

  /** Lets `ms` pass on the world's clock. */
  sleep(ms: number): Promise<void> {
    return this.clock.sleep(ms);
  }

  /**
   * Waits (on the world's clock) until `condition` holds, looking every 50 ms; throws after
   * `timeoutMs` saying what was awaited.
   */
  until(what: string, timeoutMs: number, condition: () => boolean): Promise<number> {
    return until(this.clock, what, timeoutMs, condition, 50);
  }

  /**
   * Sends one UDP packet from `from`'s overlay address to `to`'s into `from`'s TUN, as an
   * application would, every 500 ms until `to`'s TUN delivers it (the first may wait for a
   * handshake). Resolves with how long that took.
   */
  async packetArrives(from: TwinNode, to: TwinNode, timeoutMs: number): Promise<number> {
    const tag = `${from.name}>${to.name} ${this.packetSeq++}`;
    const payload = Buffer.from(tag);
    const arrived = () =>
      to.io.tuns.at(-1)!.delivered.some((p) => parseUdpPacket(p)?.payload.toString() === tag);
    let sentAt = Number.NEGATIVE_INFINITY;
    return this.until(`a packet from ${from.name} to ${to.name}`, timeoutMs, () => {
      if (arrived()) return true;
      if (this.clock.elapsed() - sentAt >= 500) {
        sendPacket(from, to, payload);
        sentAt = this.clock.elapsed();
      }
      return false;
    });
  }

  /** Sends `count` packets from `from` to `to`, one every `gapMs`; resolves with how many `to` received. */
  async stream(from: TwinNode, to: TwinNode, count: number, gapMs: number): Promise<number> {
    const tag = `${from.name}>${to.name} stream ${this.packetSeq++} `;
    for (let i = 0; i < count; i++) {
      sendPacket(from, to, Buffer.from(`${tag}${i}`));
      await this.sleep(gapMs);
    }
    await this.sleep(500);
    return to.io.tuns.at(-1)!.delivered.filter((p) => parseUdpPacket(p)?.payload.toString().startsWith(tag))
      .length;
  }
}

function sendPacket(from: TwinNode, to: TwinNode, payload: Uint8Array): void {
  from.io.tuns
    .at(-1)!
    .inject(buildUdpPacket({ src: from.ipv4, dst: to.ipv4, srcPort: 4000, dstPort: 5000, payload }));
}

export function keyOf(n: TwinNode): PeerId {
  return peerId(n.node.identity.keys.wireguard.publicKey);
}

/** Whether `from`'s node has `to` as a peer (gossip brought its certificate, and it is valid). */
export function knows(from: TwinNode, to: TwinNode): boolean {
  return from.node.peers.has(keyOf(to));
}

const statusCache = new WeakMap<OverlayNode, { at: number; peers: readonly PeerStatus[] }>();

/** How `from` sees `to` in `overlay status`, if `to` is a member it lists. */
export function statusOf(from: TwinNode, to: TwinNode): PeerStatus | undefined {
  // One status per node per instant: a scenario asks about many pairs at once, and on the
  // simulated clock nothing changes until it waits again.
  let cached = statusCache.get(from.node);
  if (cached?.at !== Date.now()) {
    cached = { at: Date.now(), peers: nodeStatus(from.node).peers };
    statusCache.set(from.node, cached);
  }
  return cached.peers.find((p) => p.name === to.name);
}

/** `overlay status` on `from` shows `to` on a direct path. */
export function direct(from: TwinNode, to: TwinNode): boolean {
  return statusOf(from, to)?.path === 'direct';
}

/** `overlay status` on `from` shows `to` relayed through `via`. */
export function relayed(from: TwinNode, to: TwinNode, via: TwinNode): boolean {
  const s = statusOf(from, to);
  return s?.path === 'relay' && s.via === via.name;
}
