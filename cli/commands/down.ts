import { stopNode } from '../../core/daemon/index.js';
import { type Command, flagBool } from '../command.js';
import { stateDirOf } from '../nodeClient.js';

export const down: Command = {
  name: 'down',
  summary: 'stop this node and remove its interface',
  usage: '',
  flags: {},
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const result = await stopNode(stateDirOf(ctx));
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    ctx.stdout.write(
      `overlay stopped (pid ${result.pid}${result.how === 'down' ? '' : `, by ${result.how}`})\n`,
    );
  },
};
