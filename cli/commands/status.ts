import { zoneOf } from '../../core/dns/zone.js';
import { OverlayError, userErrorOf } from '../../core/errors.js';
import {
  type HostNetwork,
  listNetworks,
  wantedNetwork,
  whichNetworkError,
} from '../../core/node/networks.js';
import type { NodeStatus } from '../../core/node/status.js';
import { effectiveUid } from '../../core/store/stateDir.js';
import { type Command, type CommandContext, flagBool, flagString } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { askerOf, baseDirOf, callNode, connectNode, stateDirOf, streamNode } from '../nodeClient.js';
import { pasteable, pasteContextOf } from '../pasteable.js';
import { isTty } from '../terminal.js';
import { runningNetworks } from '../userNetworks.js';
import { longBytes, pathLabel } from '../view/format.js';
import { portMappingText } from '../view/headerLines.js';
import { namesText } from '../view/names.js';
import { natText } from '../view/nat.js';

function ago(iso: string | null): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
  return s < 60 ? `${s}s ago` : s < 3600 ? `${Math.floor(s / 60)}m ago` : `${Math.floor(s / 3600)}h ago`;
}

/** A plain table: columns as wide as their widest cell. */
function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  '))
    .join('\n');
}

export function renderStatus(s: NodeStatus): string {
  const header = [
    `${s.self.name}  ${s.self.addresses.join('  ')}  on ${s.self.interface}, UDP ${s.self.listenPort}${s.self.admin ? '  (admin)' : ''}`,
    `endpoints: ${s.self.endpoints.join(', ') || '-'}`,
    ...(portMappingText(s.self.portMapping) ? [`port mapping: ${portMappingText(s.self.portMapping)}`] : []),
    ...(natText(s.self.nat, s.self.natType) ? [`NAT: ${natText(s.self.nat, s.self.natType)}`] : []),
    `key: ${s.self.publicKey}`,
    ...(s.self.names ? [namesText(s.self.names)] : []),
    '',
  ];
  if (s.peers.length === 0) return `${header.join('\n')}no other members yet: overlay invite makes a code\n`;
  const rows = [['NAME', 'ADDRESS', 'ONLINE', 'PATH', 'ENDPOINT', 'RTT', 'HANDSHAKE', 'RX', 'TX']];
  for (const p of s.peers) {
    rows.push([
      p.name,
      p.addresses[0] ?? '-',
      p.online ? 'yes' : 'no',
      pathLabel(p.path, p.via),
      p.endpoint ?? '-',
      p.rttMs === null ? '-' : `${p.rttMs.toFixed(1)} ms`,
      ago(p.lastHandshake),
      longBytes(p.rxBytes),
      longBytes(p.txBytes),
    ]);
  }
  return `${header.join('\n')}${table(rows)}\n`;
}

export const status: Command = {
  name: 'status',
  summary:
    'show this node and every member: online, path, endpoint, RTT, traffic (on a terminal: a live view; --once for one table)',
  usage: '[--once] [--json [--watch]]',
  flags: {
    once: {
      type: 'boolean',
      description:
        'print the table once and exit, also on a terminal (where status is otherwise a live view)',
    },
    watch: {
      type: 'boolean',
      description: 'with --json: one JSON object per line on every change, until Ctrl-C',
    },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    // With several networks and none named, status shows them all.
    const all = await networksToShow(ctx);
    if (all.length > 1 || (all.length === 1 && all[0]!.stateDir !== baseDirOf(ctx))) {
      return statusOfAll(ctx, all);
    }
    if (flagBool(ctx, 'watch')) {
      if (!flagBool(ctx, 'json')) {
        throw new OverlayError('EUSAGE', '--watch streams JSON: use it with --json', {
          hint: 'overlay status --json --watch',
        });
      }
      await streamNode(ctx, 'watch', {}, (event) => ctx.stdout.write(jsonLine(event)));
      return;
    }
    if (
      !flagBool(ctx, 'json') &&
      !flagBool(ctx, 'once') &&
      isTty(ctx.stdout) &&
      ctx.stdout === process.stdout
    ) {
      await liveView([{ name: '', stateDir: stateDirOf(ctx) }], ctx.env);
      return;
    }
    const s = await callNode(ctx, 'status');
    ctx.stdout.write(flagBool(ctx, 'json') ? jsonLine(s) : renderStatus(s));
  },
};

/**
 * The networks `status` with none named shows: those of the state directory, or for a user who
 * may not read it (root's), those whose nodes run, found by their read-only sockets
 * (userNetworks.ts). Named, just that one (the caller's usual path).
 */
async function networksToShow(ctx: CommandContext): Promise<HostNetwork[]> {
  if (wantedNetwork(flagString(ctx, 'network'), ctx.env) !== undefined) return [];
  const base = baseDirOf(ctx);
  const listed = listNetworks(base);
  if (listed.length > 0 || effectiveUid() === 0) return listed;
  return runningNetworks(base, ctx.env);
}

/**
 * Every network of the host, one after the other: as JSON `{"networks": [{name, stateDir,
 * status | error}]}`, as text each network's table under its name, on a terminal the live view
 * with a network switcher. One network's node that is down does not hide the others.
 */
async function statusOfAll(ctx: CommandContext, networks: readonly HostNetwork[]): Promise<void> {
  if (flagBool(ctx, 'watch')) throw whichNetworkError(networks, askerOf(ctx));
  if (
    !flagBool(ctx, 'json') &&
    !flagBool(ctx, 'once') &&
    isTty(ctx.stdout) &&
    ctx.stdout === process.stdout
  ) {
    await liveView(networks, ctx.env);
    return;
  }
  type Shown =
    | { name: string; stateDir: string; status: NodeStatus }
    | { name: string; stateDir: string; error: { code: string; message: string } };
  const shown = await Promise.all(
    networks.map(async (n): Promise<Shown> => {
      try {
        const client = await connectNode(n.stateDir, 5000);
        try {
          return { name: n.name, stateDir: n.stateDir, status: await client.call('status') };
        } finally {
          client.close();
        }
      } catch (e) {
        const user = userErrorOf(e);
        const error = { code: user?.code ?? 'EINTERNAL', message: user?.message ?? String(e) };
        return { name: n.name, stateDir: n.stateDir, error };
      }
    }),
  );
  if (flagBool(ctx, 'json')) {
    ctx.stdout.write(jsonLine({ networks: shown }));
    return;
  }
  const paste = pasteContextOf(ctx);
  ctx.stdout.write(
    shown
      .map((n) => {
        const title = `network ${n.name} (${zoneOf(n.name)})`;
        if ('status' in n) return `${title}\n${renderStatus(n.status)}`;
        const down = n.error.code === 'ENOTRUNNING';
        const how = pasteable(`sudo overlay up --network ${n.name}`, paste);
        return `${title}\n${down ? `down (start it with: ${how})` : n.error.message}\n`;
      })
      .join('\n'),
  );
}

/**
 * The live view, on a terminal. React and Ink load only here, and in production mode (React's
 * development checks cost CPU every frame), so other commands start fast. Several networks get
 * the switcher (Tab shows the next).
 */
async function liveView(
  networks: readonly Pick<HostNetwork, 'name' | 'stateDir'>[],
  env: NodeJS.ProcessEnv,
): Promise<void> {
  process.env['NODE_ENV'] ??= 'production';
  const [{ render }, React, { StatusApp }, { NetworkSwitcher }, { controlActions, controlSource }] =
    await Promise.all([
      import('ink'),
      import('react'),
      import('../view/index.js'),
      import('../view/NetworkSwitcher.js'),
      import('../liveSource.js'),
    ]);
  const color = env['NO_COLOR'] === undefined || env['NO_COLOR'] === '';
  const panes = networks.map((n) => ({
    name: n.name,
    source: controlSource(n.stateDir),
    actions: controlActions(n.stateDir),
  }));
  const app = render(
    panes.length === 1
      ? React.createElement(StatusApp, { source: panes[0]!.source, actions: panes[0]!.actions, color })
      : React.createElement(NetworkSwitcher, { networks: panes, color }),
    { exitOnCtrlC: false },
  );
  await app.waitUntilExit();
}
