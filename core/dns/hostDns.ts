/**
 * Sending the host's lookups of the network's zone to the node's resolver, and undoing it.
 *
 * - With systemd-resolved managing the host's DNS: split DNS on the overlay interface
 *   (`resolvectl dns IFACE ADDR`, `resolvectl domain IFACE ~ZONE`): only the zone comes to us, and
 *   resolved forgets it with the interface, so even a crash leaves nothing behind.
 * - Otherwise: /etc/resolv.conf itself (resolvConf.ts), its bytes kept first in a backup in the
 *   state directory (a file that survives a reboot, as /etc/resolv.conf does). A file that is a
 *   bind mount (a container's, or `ip netns exec`'s /etc/netns/NAME/resolv.conf) or a symlink is
 *   written in place, into the same inode; a plain file is replaced atomically.
 * - Undo (`down`, the node stopping) puts back the bytes it found, unless another program has
 *   rewritten the file since (a DHCP client): that file is newer than ours and is left alone. After
 *   a crash the backup is still there, and the next `up` or `down` undoes it the same way.
 * - A host in several networks: each node adds its own layer on top of what it finds, another
 *   network's included (resolvConf.ts). The one on top puts back the bytes it found; one under
 *   another takes its own lines out and leaves the others' as they are, so `down` of one network
 *   leaves the other's names working. systemd-resolved needs nothing more: each network sets DNS on
 *   its own interface, and `resolvectl revert` of one leaves the other's.
 *
 * A node in a network namespace whose /etc/resolv.conf is the file init sees (no /etc/netns file
 * for it: the host's, or in a container the container's, bind mount and all) leaves it alone: its
 * resolver is only reachable inside the namespace, and pointing everyone else at it would break
 * every lookup outside.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fromBase64, toBase64 } from '../base/bytes.js';
import { SecureStore } from '../store/secureStore.js';
import { withOverlay, withoutOverlay } from './resolvConf.js';

/** The state file that says what to undo: `dns-backup.json` in the state directory. */
export const BACKUP_NAME = 'dns-backup';

/** What the host's DNS looks like to the node; the machine's own (linuxHost) unless a test gives one. */
export interface HostSystem {
  readonly resolvConf: string;
  /** Whose resolv.conf this process sees (resolvConfPlace). */
  place(): Place;
  /** Whether `file` is a mount point of its own (a bind-mounted file). */
  isBindMount(file: string): boolean;
  /** Whether systemd-resolved runs and /etc/resolv.conf sends lookups to it. */
  usesResolved(): boolean;
  /** Runs a command to completion; throws with its stderr when it fails. */
  run(cmd: string, args: string[]): void;
}

/**
 * Whose /etc/resolv.conf a process sees: the machine's (`host`), its network namespace's own
 * (`own`: `ip netns exec`'s /etc/netns/NAME/resolv.conf, a container's), or one it shares with
 * processes in another network namespace (`shared`), which must be left alone.
 */
export type Place =
  | { place: 'host' }
  | {
      place: 'own';
      /**
       * The file by a name that holds from any namespace (`/etc/netns/NAME/resolv.conf`), when
       * there is one: the backup names it, so a `down` run elsewhere still restores this file.
       */
      file?: string;
    }
  | { place: 'shared'; why: string };

/** What resolvConfPlace decides from: files and namespaces as device:inode text. */
export interface NamespaceFacts {
  /** This process's network namespace (/proc/self/ns/net); undefined without /proc. */
  readonly net: string | undefined;
  /**
   * The machine's: init's (/proc/1/ns/net), or where a sandbox hides init from root, kthreadd's
   * (pid 2): kernel threads live in the initial namespaces.
   */
  readonly initNet: string | undefined;
  /** Named namespaces (`ip netns add`): /run/netns/NAME → its namespace. */
  readonly named: ReadonlyMap<string, string>;
  /** /etc/resolv.conf as this process sees it. */
  readonly resolvConf: string | undefined;
  /** /etc/netns/NAME/resolv.conf, which `ip netns exec NAME` mounts over /etc/resolv.conf. */
  netnsResolvConf(name: string): string | undefined;
  /** /etc/resolv.conf as init (or kthreadd) sees it (/proc/PID/root/etc/resolv.conf). */
  readonly initResolvConf: string | undefined;
}

/**
 * A named namespace (`ip netns exec`, the tests', the demo's) owns its resolv.conf only when the
 * file seen is its /etc/netns file. Any other namespace than the machine's owns it when the
 * machine sees another file there. Without /proc nothing can be told and the file is taken for
 * the machine's; with /proc but no sight of the machine's namespace, it is left alone.
 */
export function resolvConfPlace(f: NamespaceFacts): Place {
  const name = [...f.named].find(([, ns]) => ns === f.net)?.[0];
  if (name !== undefined) {
    const own = f.netnsResolvConf(name);
    if (own !== undefined && own === f.resolvConf) {
      return { place: 'own', file: path.join('/etc/netns', name, 'resolv.conf') };
    }
    return {
      place: 'shared',
      why: `network namespace ${name} shares the host's resolv.conf (give it its own: /etc/netns/${name}/resolv.conf)`,
    };
  }
  if (f.net === undefined || f.initNet === f.net) return { place: 'host' };
  if (f.initNet === undefined) {
    return { place: 'shared', why: "cannot tell this network namespace from the machine's (/proc/1/ns/net)" };
  }
  if (f.initResolvConf !== undefined && f.initResolvConf !== f.resolvConf) return { place: 'own' };
  return { place: 'shared', why: "this network namespace shares the machine's resolv.conf" };
}

/** How the node changed the host's DNS, or why it did not. */
export type HostDnsState =
  | { mode: 'resolved'; interface: string }
  | { mode: 'resolv.conf'; path: string }
  | { mode: 'off' }
  | { mode: 'unchanged'; why: string };

interface Backup extends Record<string, unknown> {
  version: 1;
  mode: 'resolved' | 'resolv.conf';
  /** resolved: the interface configured. */
  interface?: string;
  /** resolv.conf: the file, what it held before, and what we wrote (base64). */
  path?: string;
  original?: string;
  written?: string;
  /** Written into its inode (a bind mount's source or target, a symlink), not renamed over. */
  inPlace?: boolean;
  /** resolv.conf: the zone of the layer written (absent in a backup of an older overlay). */
  zone?: string;
}

function validateBackup(data: unknown): Backup {
  const d = data as Partial<Backup> | null;
  const bad = (what: string) => new Error(`not an overlay DNS backup: ${what}`);
  if (typeof d !== 'object' || d === null || d.version !== 1) throw bad('unknown version');
  if (d.mode === 'resolved') {
    if (typeof d.interface !== 'string' || !/^[\w.-]{1,15}$/.test(d.interface)) throw bad('interface');
  } else if (d.mode === 'resolv.conf') {
    if (typeof d.path !== 'string' || !path.isAbsolute(d.path)) throw bad('path');
    if (fromBase64(d.original as string) === undefined || fromBase64(d.written as string) === undefined) {
      throw bad('contents');
    }
    if (d.inPlace !== undefined && typeof d.inPlace !== 'boolean') throw bad('inPlace');
    if (d.zone !== undefined && !(typeof d.zone === 'string' && /^[a-z0-9-]{1,63}\.internal$/.test(d.zone)))
      throw bad('zone');
  } else {
    throw bad('mode');
  }
  return d as Backup;
}

/**
 * Points the host's lookups of `zone` at `resolver` on `iface`. Whatever a crashed node left is
 * undone first (repairHostDns), so the backup always holds the host's own configuration.
 */
export function configureHostDns(
  stateDir: string,
  target: { interface: string; resolver: string; zone: string },
  host: HostSystem = linuxHost,
): HostDnsState {
  repairHostDns(stateDir, host);
  const place = host.place();
  if (place.place === 'shared') return { mode: 'unchanged', why: place.why };
  // systemd-resolved serves the machine's namespace; a namespace's own file is the file.
  if (place.place === 'host' && host.usesResolved()) {
    saveBackup(stateDir, { version: 1, mode: 'resolved', interface: target.interface });
    try {
      host.run('resolvectl', ['dns', target.interface, target.resolver]);
      host.run('resolvectl', ['domain', target.interface, `~${target.zone}`]);
    } catch (e) {
      repairHostDns(stateDir, host);
      return { mode: 'unchanged', why: `resolvectl failed: ${firstLine(e)}` };
    }
    return { mode: 'resolved', interface: target.interface };
  }
  const file = (place.place === 'own' && place.file) || host.resolvConf;
  // A namespace's own file is the source of a bind mount even by its /etc/netns name: renaming a
  // new file over it would leave the mount on the old one.
  const inPlace = place.place === 'own' || mustWriteInPlace(host, file);
  const original = fs.readFileSync(file);
  // latin1 maps each byte to one character and back: bytes that are not UTF-8 (a comment in
  // another encoding) come through both layers unchanged.
  const written = Buffer.from(
    withOverlay(original.toString('latin1'), target.resolver, target.zone),
    'latin1',
  );
  // The backup first: a crash after it and before the write finds the file as it was, which
  // repair then leaves as it is.
  saveBackup(stateDir, {
    version: 1,
    mode: 'resolv.conf',
    path: file,
    original: toBase64(original),
    written: toBase64(written),
    inPlace,
    zone: target.zone,
  });
  try {
    writeResolvConf(file, written, inPlace);
  } catch (e) {
    repairHostDns(stateDir, host);
    throw e;
  }
  return { mode: 'resolv.conf', path: file };
}

/**
 * Undoes what the backup says this node did, if anything, and forgets the backup. Returns what was
 * done, in words for the log, or undefined when there was nothing to undo.
 */
export function repairHostDns(stateDir: string, host: HostSystem = linuxHost): string | undefined {
  const store = SecureStore.open<Backup>(stateDir, BACKUP_NAME, validateBackup);
  if (!store) return undefined;
  const backup = store.read();
  let done: string;
  if (backup.mode === 'resolved') {
    try {
      host.run('resolvectl', ['revert', backup.interface!]);
      done = `reverted systemd-resolved's settings of ${backup.interface}`;
    } catch {
      // The interface went with the node that made it: resolved forgot it then.
      done = `${backup.interface} is gone, and resolved's settings with it`;
    }
  } else {
    done = restoreResolvConf(host, backup);
  }
  fs.rmSync(store.path, { force: true });
  return done;
}

function restoreResolvConf(host: HostSystem, backup: Backup): string {
  const file = backup.path!;
  const original = fromBase64(backup.original!)!;
  const written = fromBase64(backup.written!)!;
  let now: Buffer;
  try {
    now = fs.readFileSync(file);
  } catch {
    now = Buffer.alloc(0);
  }
  if (now.equals(original)) return `${file} was already as overlay found it`;
  const inPlace = backup.inPlace === true || mustWriteInPlace(host, file);
  if (now.equals(written)) {
    writeResolvConf(file, original, inPlace);
    return `put back ${file} as it was before overlay up`;
  }
  // Another network's node wrote its layer on top of ours (or took its own out from under it):
  // ours comes out alone, and theirs stays.
  const without = backup.zone === undefined ? undefined : withoutOverlay(now.toString('latin1'), backup.zone);
  if (without === undefined) return `left ${file} alone: another program has rewritten it since overlay did`;
  writeResolvConf(file, Buffer.from(without, 'latin1'), inPlace);
  return `took ${backup.zone}'s lines out of ${file}; another network's stay`;
}

function saveBackup(stateDir: string, backup: Backup): void {
  const existing = SecureStore.open<Backup>(stateDir, BACKUP_NAME, validateBackup);
  if (existing) existing.write(backup);
  else SecureStore.createExclusive<Backup>(stateDir, BACKUP_NAME, backup, validateBackup);
}

/**
 * A bind-mounted file cannot be renamed over (EBUSY), and renaming over a symlink would replace
 * the link with a file: those are written in place.
 */
function mustWriteInPlace(host: HostSystem, file: string): boolean {
  const stat = fs.lstatSync(file, { throwIfNoEntry: false });
  return !stat || stat.isSymbolicLink() || host.isBindMount(file);
}

/** In place (the same inode), or replaced atomically so a reader never sees it half-written, its mode kept. */
function writeResolvConf(file: string, bytes: Uint8Array, inPlace: boolean): void {
  if (inPlace) {
    fs.writeFileSync(file, bytes);
    return;
  }
  const stat = fs.statSync(file);
  const tmp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.overlay-${randomBytes(4).toString('hex')}`,
  );
  try {
    fs.writeFileSync(tmp, bytes, { mode: stat.mode & 0o777, flag: 'wx' });
    fs.chmodSync(tmp, stat.mode & 0o777);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function firstLine(e: unknown): string {
  const err = e as { stderr?: Buffer | string; message?: string };
  const text = String(err.stderr ?? '').trim() || (err.message ?? String(e));
  return text.split('\n')[0]!;
}

/** The mount points in /proc/self/mountinfo (field 5, with its octal escapes undone). */
function mountPoints(): string[] {
  try {
    return fs
      .readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((line) => line.split(' ')[4] ?? '')
      .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
  } catch {
    return [];
  }
}

/** A file's identity as `device:inode`, or undefined when it cannot be seen. */
function identity(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/** A process in the machine's namespaces that we may look at: init, or else kthreadd. */
function machinePid(): number | undefined {
  if (identity('/proc/1/ns/net') !== undefined) return 1;
  try {
    if (fs.readFileSync('/proc/2/comm', 'utf8').trim() === 'kthreadd') return 2;
  } catch {
    // no /proc, or no pid 2 in this pid namespace
  }
  return undefined;
}

function linuxFacts(resolvConf: string): NamespaceFacts {
  const named = new Map<string, string>();
  let names: string[] = [];
  try {
    names = fs.readdirSync('/run/netns');
  } catch {
    // no named namespaces
  }
  for (const name of names) {
    const ns = identity(path.join('/run/netns', name));
    if (ns) named.set(name, ns);
  }
  const init = machinePid();
  return {
    net: identity('/proc/self/ns/net'),
    initNet: init === undefined ? undefined : identity(`/proc/${init}/ns/net`),
    named,
    resolvConf: identity(resolvConf),
    netnsResolvConf: (name) => identity(path.join('/etc/netns', name, path.basename(resolvConf))),
    initResolvConf: init === undefined ? undefined : identity(path.join(`/proc/${init}/root`, resolvConf)),
  };
}

/** The machine this process runs on. */
export const linuxHost: HostSystem = {
  resolvConf: '/etc/resolv.conf',
  place() {
    return resolvConfPlace(linuxFacts('/etc/resolv.conf'));
  },
  isBindMount(file) {
    return mountPoints().includes(file);
  },
  usesResolved() {
    if (!fs.existsSync('/run/systemd/resolve')) return false;
    try {
      execFileSync('resolvectl', ['--version'], { stdio: 'ignore', timeout: 5_000 });
    } catch {
      return false;
    }
    // resolved may run while resolv.conf bypasses it (a static file): then split DNS would not
    // reach glibc's lookups, and the file is what to change.
    let target = '';
    try {
      target = fs.realpathSync('/etc/resolv.conf');
    } catch {
      return false;
    }
    if (target.startsWith('/run/systemd/resolve/')) return true;
    return /^nameserver\s+127\.0\.0\.53\s*$/m.test(fs.readFileSync(target, 'utf8'));
  },
  run(cmd, args) {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  },
};
