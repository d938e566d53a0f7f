import { type Command, flagBool } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { callNode } from '../nodeClient.js';
import { pathLabel } from '../view/format.js';

export const peers: Command = {
  name: 'peers',
  summary: 'list the other members, one line each: name, address, online, path',
  usage: '[--json | --names]',
  flags: {
    names: { type: 'boolean', description: 'only the names, one per line (shell completion uses it)' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const s = await callNode(ctx, 'status');
    if (flagBool(ctx, 'names')) {
      for (const p of s.peers) ctx.stdout.write(`${p.name}\n`);
      return;
    }
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(
        jsonLine(
          s.peers.map((p) => ({
            name: p.name,
            address: p.addresses[0],
            online: p.online,
            path: p.path,
            via: p.via,
          })),
        ),
      );
      return;
    }
    const width = Math.max(4, ...s.peers.map((p) => p.name.length));
    for (const p of s.peers) {
      const path = pathLabel(p.path, p.via);
      ctx.stdout.write(
        `${p.name.padEnd(width)}  ${(p.addresses[0] ?? '-').padEnd(15)}  ${p.online ? 'online ' : 'offline'}  ${path}\n`,
      );
    }
  },
};
