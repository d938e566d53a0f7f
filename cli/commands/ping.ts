import { OverlayError } from '../../core/errors.js';
import { type Command, flagBool, flagString } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { streamNode } from '../nodeClient.js';

export const ping: Command = {
  name: 'ping',
  summary: 'ping a member through the overlay: which path answers, and how fast',
  usage: 'NAME|IP [-c COUNT]',
  flags: { count: { type: 'string', short: 'c', arg: 'N', description: 'how many pings (default 4)' } },
  positionals: { min: 1, max: 1 },
  completes: 'members',
  async run(ctx) {
    const countText = flagString(ctx, 'count') ?? '4';
    if (!/^\d+$/.test(countText) || Number(countText) < 1 || Number(countText) > 100) {
      throw new OverlayError('EUSAGE', `-c ${JSON.stringify(countText)} is not a count from 1 to 100`);
    }
    let answered = 0;
    let sent = 0;
    await streamNode(ctx, 'ping', { target: ctx.args[0]!, count: Number(countText) }, (p) => {
      sent++;
      if (flagBool(ctx, 'json')) {
        ctx.stdout.write(jsonLine(p));
      } else if ('timeout' in p) {
        ctx.stdout.write(`no answer from ${p.name} (${p.address}) in 2 s\n`);
      } else {
        answered++;
        ctx.stdout.write(
          `pong from ${p.name} (${p.address}) ${p.path === 'relay' ? `${p.endpoint} (relay)` : `via ${p.endpoint} (direct)`} in ${p.rttMs.toFixed(2)} ms\n`,
        );
      }
    });
    if (sent > 0 && answered === 0 && !flagBool(ctx, 'json')) {
      throw new OverlayError('EINTERNAL', `${ctx.args[0]} did not answer`, {
        hint: 'is its node up? overlay status shows when it was last heard from',
      });
    }
  },
};
