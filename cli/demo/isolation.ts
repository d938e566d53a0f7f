/**
 * The rule that lets a world of namespaces use addresses outside the network rules' ranges (a
 * miniupnpd router refuses reserved WAN addresses, mappingRouter.ts): no namespace of it has a link
 * to the host's namespace, so no packet of it can leave the machine. Checked before anything starts.
 */
import { execFileSync } from 'node:child_process';

function run(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
}

/**
 * Throws unless every interface of every namespace named is lo, a bridge, or a veth whose peer lives
 * in a namespace of the same list, by name (`link-netns NAME`; a peer in the host's namespace, which
 * has no name, shows as a bare `link-netnsid`), and none of them is the host's own namespace.
 */
export function assertIsolated(namespaces: readonly string[]): void {
  const hostNs = run(['stat', '-L', '-c', '%i', '/proc/self/ns/net']).trim();
  const names = new Set(namespaces);
  for (const ns of namespaces) {
    const inode = run(['ip', 'netns', 'exec', ns, 'stat', '-L', '-c', '%i', '/proc/self/ns/net']).trim();
    if (inode === hostNs) throw new Error(`${ns} is the host's namespace`);
    for (const line of run(['ip', '-n', ns, '-o', '-d', 'link', 'show']).split('\n').filter(Boolean)) {
      const name = /^\d+: ([^:@]+)/.exec(line)?.[1];
      if (name === 'lo' && line.includes('link/loopback')) continue;
      if (/\\\s+bridge /.test(line) && !line.includes('link-netns')) continue;
      const peer = /link-netns (\S+)/.exec(line)?.[1];
      if (!/\\\s+veth /.test(line) || peer === undefined || !names.has(peer)) {
        throw new Error(`${ns} has ${name} linked outside this world: ${line.slice(0, 200)}`);
      }
    }
  }
}
