import { isControlError } from '../../core/control/index.js';
import { stopNode } from '../../core/daemon/index.js';
import { repairHostDns } from '../../core/dns/hostDns.js';
import { type Command, flagBool } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { assertInNetwork, stateDirOf } from '../nodeClient.js';

export const down: Command = {
  name: 'down',
  summary: 'stop this node and remove its interface (a node already down is left as it is)',
  usage: '',
  flags: {},
  positionals: { min: 0, max: 0 },
  changesNode: true,
  async run(ctx) {
    const stateDir = stateDirOf(ctx);
    let result: Awaited<ReturnType<typeof stopNode>> | undefined;
    try {
      result = await stopNode(stateDir);
    } catch (e) {
      // As `tailscale down`: a node that is already down is what was asked for.
      if (!isControlError(e, 'ENOTRUNNING')) throw e;
      assertInNetwork(stateDir);
    }
    // A node that stops puts the host's DNS back itself; one that was killed (kill -9, a power
    // cut) left its backup, and this is where it is undone.
    const dns = repairHostDns(stateDir);
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine({ ...(result ?? { pid: null, how: 'already down' }), ...(dns && { dns }) }));
      return;
    }
    if (dns) ctx.stdout.write(`host DNS: ${dns}\n`);
    if (result === undefined) {
      ctx.stdout.write('overlay is already down; nothing to stop\n');
      return;
    }
    ctx.stdout.write(
      `overlay stopped (pid ${result.pid}${result.how === 'down' ? '' : `, by ${result.how}`})\n`,
    );
  },
};
