import { type ChildProcess, execFileSync, type SpawnOptions, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A network namespace owned by one test. Names are unique per process and call, so test files
 * running in parallel never collide. destroy() kills every process inside and deletes it; it is
 * registered for process exit too, so a crashed test leaves nothing behind.
 */
export class Netns {
  readonly name: string;
  private readonly children = new Set<ChildProcess>();
  private destroyed = false;
  private etcDir: string | undefined;

  constructor(tag: string) {
    this.name = `ovl-${tag}-${process.pid}-${randomBytes(3).toString('hex')}`.slice(0, 60);
    execFileSync('ip', ['netns', 'add', this.name]);
    live.add(this);
    this.ip('link', 'set', 'lo', 'up');
  }

  /** Runs `ip ARGS` inside the namespace and returns its stdout. */
  ip(...args: string[]): string {
    return execFileSync('ip', ['-n', this.name, ...args], { encoding: 'utf8' });
  }

  /**
   * Runs a command inside the namespace to completion and returns its stdout. Its stderr is kept
   * out of the test output and put in the error if the command fails.
   */
  exec(cmd: string, args: string[] = [], timeoutMs = 30_000): string {
    try {
      return execFileSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
        encoding: 'utf8',
        timeout: timeoutMs,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (e) {
      const err = e as Error & { stderr?: string };
      if (err.stderr) err.message += `\n${err.stderr.trim()}`;
      throw err;
    }
  }

  /**
   * Files that `ip netns exec` shows inside this namespace as /etc/FILE (it bind-mounts
   * /etc/netns/NAME/FILE over them): call before the first exec that should see them. Removed by
   * destroy(). Returns the directory.
   */
  etc(files: Record<string, string>): string {
    const dir = join('/etc/netns', this.name);
    mkdirSync(dir, { recursive: true });
    this.etcDir = dir;
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }

  /** Starts a long-running command inside the namespace; it is killed by destroy(). */
  spawn(cmd: string, args: string[] = [], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], { stdio: 'pipe', ...options });
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const child of this.children) child.kill('SIGKILL');
    try {
      // Anything started inside by other means (daemons that detached) goes too.
      const pids = execFileSync('ip', ['netns', 'pids', this.name], { encoding: 'utf8' }).split(/\s+/);
      for (const pid of pids) if (pid) safeKill(Number(pid));
    } catch {
      // namespace already gone
    }
    try {
      execFileSync('ip', ['netns', 'del', this.name], { stdio: 'ignore' });
    } catch {
      // already gone
    }
    if (this.etcDir) rmSync(this.etcDir, { recursive: true, force: true });
  }
}

/** Joins two namespaces with a veth pair, its ends down and without addresses; returns their names. */
export function veth(a: Netns, b: Netns): { ifA: string; ifB: string } {
  const id = randomBytes(3).toString('hex');
  const ifA = `va${id}`;
  const ifB = `vb${id}`;
  execFileSync('ip', [
    'link',
    'add',
    ifA,
    'netns',
    a.name,
    'type',
    'veth',
    'peer',
    'name',
    ifB,
    'netns',
    b.name,
  ]);
  return { ifA, ifB };
}

/** Joins two namespaces with a veth pair and gives each end an address (CIDR form). */
export function vethPair(a: Netns, addrA: string, b: Netns, addrB: string): { ifA: string; ifB: string } {
  const { ifA, ifB } = veth(a, b);
  for (const [ns, ifname, addr] of [
    [a, ifA, addrA],
    [b, ifB, addrB],
  ] as const) {
    ns.ip('addr', 'add', addr, 'dev', ifname);
    ns.ip('link', 'set', ifname, 'up');
  }
  return { ifA, ifB };
}

function safeKill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already exited
  }
}

const live = new Set<Netns>();
process.on('exit', () => {
  for (const ns of live) ns.destroy();
});

/**
 * Plugs `host` into bridge `bridge` of namespace `sw` with a veth pair, gives the host's end
 * `address` (CIDR) and brings it up. Returns the host's interface name.
 */
export function plugIntoBridge(host: Netns, sw: Netns, bridge: string, address: string): string {
  const id = randomBytes(3).toString('hex');
  const [hostIf, swIf] = [`h${id}`, `s${id}`];
  execFileSync('ip', [
    'link',
    'add',
    hostIf,
    'netns',
    host.name,
    'type',
    'veth',
    'peer',
    'name',
    swIf,
    'netns',
    sw.name,
  ]);
  sw.ip('link', 'set', swIf, 'master', bridge, 'up');
  host.ip('addr', 'add', address, 'dev', hostIf);
  host.ip('link', 'set', hostIf, 'up');
  return hostIf;
}

/** Deletes every namespace whose name matches, killing what runs in it: cleanup for a child that made its own. */
export function removeNamespaces(name: RegExp): void {
  const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.split('\n')) {
    const ns = line.split(' ')[0];
    if (!ns || !name.test(ns)) continue;
    try {
      const pids = execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/);
      for (const pid of pids) if (pid) safeKill(Number(pid));
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    } catch {
      // gone already
    }
  }
}
