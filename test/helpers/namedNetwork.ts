/**
 * A named overlay network for the names tests: members on one LAN, each with its own
 * /etc/resolv.conf (/etc/netns/NAME/resolv.conf, made before anything runs inside) that points at
 * an upstream resolver — dnsmasq in one more namespace on the LAN, answering `outside.test`.
 */
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { until } from './jsonLines.js';
import { lan, OverlayHost } from './lan.js';
import type { Netns } from './netns.js';
import { stateRoot } from './overlayNetwork.js';

/** What the upstream dnsmasq answers for `outside.test`. */
export const OUTSIDE_ADDRESS = '198.51.100.7';

export interface NamedWorld {
  nodes: OverlayHost[];
  upstream: Netns;
  upstreamAddress: string;
  /** Each member's resolv.conf as the test wrote it. */
  resolvConf: string;
}

export interface NamedOptions {
  networkName?: string;
  /** Extra flags for every `up`. */
  upFlags?: string[];
  /** Extra resolv.conf lines after the nameserver (a search list, options). */
  resolvConfTail?: string;
}

/** The first creates the network `home` and runs; each other joins and runs. */
export async function namedNetwork(
  t: ExecutionContext,
  tag: string,
  names: string[],
  options: NamedOptions = {},
): Promise<NamedWorld> {
  const { hosts, addresses } = lan(t, tag, names.length + 1);
  const upstream = hosts[names.length]!;
  const upstreamAddress = addresses[names.length]!;
  const resolvConf = `nameserver ${upstreamAddress}\n${options.resolvConfTail ?? ''}`;
  for (const host of hosts.slice(0, names.length)) host.etc({ 'resolv.conf': resolvConf });
  await startDnsmasq(upstream, upstreamAddress);
  const root = stateRoot(t);
  const nodes = names.map((n, i) => new OverlayHost(hosts[i]!, join(root, n)));
  const [first, ...rest] = nodes;
  const up = ['up', ...(options.upFlags ?? [])];
  await first!.ok(['init', '--name', names[0]!, '--network-name', options.networkName ?? 'home']);
  await first!.ok(up);
  for (const [i, node] of rest.entries()) {
    const { code } = await first!.json<{ code: string }>(['invite']);
    await node.ok(['join', code, '--name', names[i + 1]!]);
    await node.ok(up);
  }
  return { nodes, upstream, upstreamAddress, resolvConf };
}

/** dnsmasq on `address`, answering outside.test and nothing else, until the namespace goes. */
async function startDnsmasq(ns: Netns, address: string): Promise<void> {
  ns.spawn('dnsmasq', [
    '--keep-in-foreground',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${address}`,
    '--user=root',
    '--pid-file',
    `--address=/outside.test/${OUTSIDE_ADDRESS}`,
  ]);
  await until(
    'dnsmasq to answer',
    () => dig(ns, address, 'outside.test').answers[0] === OUTSIDE_ADDRESS,
    10_000,
  );
}

export interface DigResult {
  /** NOERROR, NXDOMAIN, SERVFAIL, REFUSED..., or 'timeout'. */
  status: string;
  /** The answer section's data, in order. */
  answers: string[];
  aa: boolean;
}

/** `dig @server name type` from `ns`: one try of two seconds, or `tries` of one second. */
export function dig(ns: Netns, server: string, name: string, type = 'A', tries = 1): DigResult {
  let out: string;
  const timing = tries === 1 ? ['+time=2', '+tries=1'] : ['+time=1', `+tries=${tries}`];
  try {
    out = ns.exec('dig', [`@${server}`, name, type, ...timing, '+noall', '+comments', '+answer'], 10_000);
  } catch (e) {
    out = String((e as { stdout?: string }).stdout ?? '');
  }
  const status = /status: ([A-Z]+)/.exec(out)?.[1] ?? 'timeout';
  const answers = out
    .split('\n')
    .filter((l) => l && !l.startsWith(';'))
    .map((l) => l.trim().split(/\s+/).at(-1)!);
  return { status, answers, aa: /flags:[^;]*\baa\b/.test(out) };
}

/** Polls dig until `ok` holds; how long that took, or throws with the last answer. */
export async function digUntil(
  ns: Netns,
  server: string,
  name: string,
  ok: (r: DigResult) => boolean,
  timeoutMs: number,
  type = 'A',
): Promise<number> {
  const start = Date.now();
  let last: DigResult | undefined;
  while (Date.now() - start < timeoutMs) {
    last = dig(ns, server, name, type);
    if (ok(last)) return Date.now() - start;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${name} ${type} at ${server}: still ${JSON.stringify(last)} after ${timeoutMs} ms`);
}
