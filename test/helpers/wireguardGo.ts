import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './jsonLines.js';
import type { Netns } from './netns.js';

export interface WgGoPeer {
  publicKey: string;
  allowedIps: string[];
  endpoint?: string;
  presharedKey?: string;
  persistentKeepalive?: number;
}

export interface WgGoOptions {
  privateKey: string;
  listenPort: number;
  /** CIDR addresses for its interface */
  addresses: string[];
  peers: WgGoPeer[];
  mtu?: number;
  /** The wireguard-go executable (default: the one on PATH), e.g. another build for the bench. */
  binary?: string;
}

/**
 * A stock wireguard-go interface in a namespace, configured with `wg` and `ip` exactly as a user
 * would. Its interface name is unique on the machine, because wireguard-go's control sockets in
 * /var/run/wireguard are shared by every namespace.
 */
export class WireguardGo {
  readonly ifname: string;
  private readonly process: ChildProcess;
  private readonly dir: string;
  private log = '';

  private constructor(
    readonly ns: Netns,
    ifname: string,
    proc: ChildProcess,
    dir: string,
  ) {
    this.ifname = ifname;
    this.process = proc;
    this.dir = dir;
    proc.stderr?.on('data', (d: Buffer) => {
      this.log += d.toString();
    });
  }

  static async start(ns: Netns, options: WgGoOptions): Promise<WireguardGo> {
    const ifname = `wg${process.pid.toString(36)}${Math.floor(Math.random() * 36 ** 4).toString(36)}`.slice(
      0,
      15,
    );
    const proc = ns.spawn(options.binary ?? 'wireguard-go', ['-f', ifname], {
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1', LOG_LEVEL: 'error' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const wg = new WireguardGo(ns, ifname, proc, mkdtempSync(join(tmpdir(), 'ovl-wggo-')));
    // 'close' comes after the last of stderr: an error it printed is in the message, not lost.
    const closed = new Promise<string>((resolve) =>
      proc.once('close', (code, signal) => resolve(`code ${code}, signal ${signal}`)),
    );
    let exited = false;
    try {
      await until(`wireguard-go to create ${ifname}`, () => {
        exited = proc.exitCode !== null || proc.signalCode !== null;
        if (exited) return true;
        try {
          ns.exec('wg', ['show', ifname]);
          return true;
        } catch {
          return false;
        }
      });
      if (exited) {
        const how = await Promise.race([
          closed,
          new Promise<string>((r) => setTimeout(() => r('still closing'), 2000)),
        ]);
        throw new Error(
          `wireguard-go ${ifname} in ${ns.name} exited (${how}): ${wg.log.trim() || 'no output'}`,
        );
      }
      wg.configure(options);
    } catch (e) {
      wg.stop();
      throw e;
    }
    return wg;
  }

  private configure(o: WgGoOptions): void {
    const keyFile = join(this.dir, 'private.key');
    writeFileSync(keyFile, o.privateKey, { mode: 0o600 });
    const args = ['set', this.ifname, 'listen-port', String(o.listenPort), 'private-key', keyFile];
    o.peers.forEach((p, i) => {
      args.push('peer', p.publicKey, 'allowed-ips', p.allowedIps.join(','));
      if (p.endpoint) args.push('endpoint', p.endpoint);
      if (p.persistentKeepalive) args.push('persistent-keepalive', String(p.persistentKeepalive));
      if (p.presharedKey) {
        const pskFile = join(this.dir, `psk${i}`);
        writeFileSync(pskFile, p.presharedKey, { mode: 0o600 });
        args.push('preshared-key', pskFile);
      }
    });
    this.ns.exec('wg', args);
    this.ns.ip('link', 'set', this.ifname, 'mtu', String(o.mtu ?? 1420), 'up');
    for (const a of o.addresses)
      this.ns.ip('addr', 'add', a, 'dev', this.ifname, ...(a.includes(':') ? ['nodad'] : []));
  }

  /** `wg show dump` peer lines: latest handshake (s since epoch), rx and tx bytes. */
  peerState(publicKey: string): { latestHandshake: number; rx: number; tx: number; endpoint: string } {
    const line = this.ns
      .exec('wg', ['show', this.ifname, 'dump'])
      .split('\n')
      .find((l) => l.startsWith(publicKey));
    if (!line) throw new Error(`wireguard-go does not list peer ${publicKey}`);
    const f = line.split('\t');
    return { endpoint: f[2] ?? '', latestHandshake: Number(f[4]), rx: Number(f[5]), tx: Number(f[6]) };
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  stop(): void {
    this.process.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
    rmSync(`/var/run/wireguard/${this.ifname}.sock`, { force: true });
  }
}
