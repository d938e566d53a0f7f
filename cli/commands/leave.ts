import { isControlError } from '../../core/control/index.js';
import { stopNode } from '../../core/daemon/index.js';
import { isOverlayError, OverlayError } from '../../core/errors.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { type LeaveCost, leaveCost } from '../../core/node/leave.js';
import { NodeState } from '../../core/node/nodeState.js';
import { type Command, flagBool } from '../command.js';
import { confirm } from '../confirm.js';
import { jsonLine } from '../jsonOutput.js';
import { callNode, notInNetworkError, stateDirOf } from '../nodeClient.js';
import { pasteable, pasteContextOf } from '../pasteable.js';
import { isTty } from '../terminal.js';

/** What the state on disk says about this member before it goes; null when it cannot be read. */
interface Before {
  name: string | null;
  /** Members besides this one. */
  others: number;
  cost: LeaveCost;
}

export const leave: Command = {
  name: 'leave',
  summary: "leave the network: tell the members, stop, and remove the network's state",
  usage: '[--keep-identity] [--yes] [--force]',
  flags: {
    'keep-identity': {
      type: 'boolean',
      description: "keep this node's keys (default: new keys at the next init or join)",
    },
    yes: { type: 'boolean', short: 'y', description: 'do not ask for confirmation' },
    force: {
      type: 'boolean',
      description:
        'leave even when this node holds the network key, when members it admitted would go with it, or when its state is corrupt',
    },
  },
  positionals: { min: 0, max: 0 },
  changesNode: true,
  async run(ctx) {
    const stateDir = stateDirOf(ctx);
    const force = flagBool(ctx, 'force');
    const keepIdentity = flagBool(ctx, 'keep-identity');
    const before = readBefore(stateDir, force);
    if (before && !force) refuseCostly(before.cost);
    if (!flagBool(ctx, 'yes')) {
      const what = `Leave the network${before?.name ? ` as ${before.name}` : ''}? The members are told, the node stops, and its network state${keepIdentity ? '' : ' and keys'} in ${stateDir} are removed.`;
      if (!isTty(ctx.stdout) || !process.stdin.isTTY) {
        throw new OverlayError(
          'EUSAGE',
          'leaving asks for confirmation, and there is no terminal to ask on',
          {
            hint: 'to leave without being asked: overlay leave --yes',
          },
        );
      }
      if (!(await confirm(what, process.stdin, ctx.stdout))) {
        ctx.stdout.write('nothing changed\n');
        return;
      }
    }

    // Tell the members while the node runs, then stop it as `down` does.
    let told: number | null = null;
    let wasMember = before?.name !== null;
    try {
      const result = await callNode(ctx, 'leave');
      told = result.told;
      wasMember = result.name !== null;
      await stopNode(stateDir);
    } catch (e) {
      if (!isControlError(e, 'ENOTRUNNING')) throw e;
    }
    NodeState.forget(stateDir);
    if (!keepIdentity) IdentityStore.forget(stateDir);

    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(
        jsonLine({ left: true, name: before?.name ?? null, told, identityKept: keepIdentity }),
      );
      return;
    }
    const name = before?.name ?? 'this node';
    const paste = pasteContextOf(ctx);
    const heard = !wasMember
      ? 'it was no longer a member (kicked or expired), so there was no one to tell'
      : before?.others === 0
        ? 'it was the only member'
        : told === null
          ? `the node was not running, so no member was told: they see ${name} offline until an admin runs \`overlay kick ${name}\``
          : `told ${told} member${told === 1 ? '' : 's'}; the others hear of it by gossip`;
    ctx.stdout.write(
      `${name} left the network: ${heard}.\nRemoved the network's state${keepIdentity ? ' (the keys are kept)' : ' and keys'} from ${stateDir}.\nNext: join a network with ${pasteable('sudo overlay join', paste)} CODE, or make one with ${pasteable('sudo overlay init', paste)}\n`,
    );
  },
};

/**
 * The member's name and what leaving costs, from the state on disk. Not in a network: the one-line
 * error. Corrupt: the error, unless --force, which removes what is there without reading it.
 */
function readBefore(stateDir: string, force: boolean): Before | undefined {
  try {
    const state = NodeState.open(stateDir);
    if (!state) throw notInNetworkError(stateDir);
    const settings = state.settings();
    const roster = state.loadRoster();
    const { identity } = IdentityStore.openOrPrepare(stateDir);
    const now = Date.now();
    const self = roster.memberByWireguardKey(identity.keys.wireguard.publicKey, now);
    return {
      name: self?.certificate.name ?? null,
      others: roster.members(now).filter((m) => m.subject !== self?.subject).length,
      cost: leaveCost(roster, settings.networkSecretKey !== null, identity.keys.signing.publicKey, now),
    };
  } catch (e) {
    if (force && isOverlayError(e) && e.code === 'ESTORE_CORRUPT') return undefined;
    if (isOverlayError(e) && e.code === 'ESTORE_CORRUPT') {
      throw new OverlayError(e.code, e.message, {
        hint: `to remove the network's state without reading it: overlay leave --force`,
        cause: e,
      });
    }
    throw e;
  }
}

/** Leaving must not quietly take the network key, or other members, with it. */
function refuseCostly(cost: LeaveCost): void {
  const hint = 'to leave anyway: overlay leave --force';
  if (cost.holdsNetworkKey) {
    throw new OverlayError(
      'EUSAGE',
      'this node holds the network key, the final say over every admin: leaving deletes it for good',
      { hint },
    );
  }
  const lost = [...cost.admitted, ...cost.carried.filter((n) => !cost.admitted.includes(n))];
  if (lost.length > 0) {
    const names =
      lost.length > 5 ? `${lost.slice(0, 5).join(', ')} and ${lost.length - 5} more` : lost.join(', ');
    throw new OverlayError(
      'EUSAGE',
      `leaving takes ${lost.length === 1 ? 'a member' : `${lost.length} members`} with it (${names}): admitted or carried by this node`,
      { hint: `have them join again through another admin first; ${hint}` },
    );
  }
}
