import { type Command, flagBool } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { callNode } from '../nodeClient.js';

export const kick: Command = {
  name: 'kick',
  summary: 'remove a member from the network for good (admins)',
  usage: 'NAME',
  flags: {},
  positionals: { min: 1, max: 1 },
  changesNode: true,
  completes: 'members',
  async run(ctx) {
    const name = ctx.args[0]!;
    await callNode(ctx, 'kick', { name });
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine({ kicked: name }));
      return;
    }
    ctx.stdout.write(`${name} is revoked; every member drops it within seconds\n`);
  },
};
