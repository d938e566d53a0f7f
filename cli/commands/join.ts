import { OverlayError } from '../../core/errors.js';
import { parseInviteCode } from '../../core/membership/inviteCode.js';
import { defaultMemberName } from '../../core/node/defaultName.js';
import { parseNameFlag, parsePort } from '../../core/node/flags.js';
import { assertNotRemoved, join as joinNetwork } from '../../core/node/join.js';
import { wantedNetwork } from '../../core/node/networks.js';
import { listenPortFor, placeNetwork, planNewNetwork } from '../../core/node/newNetwork.js';
import { DEFAULT_LISTEN_PORT, NodeState } from '../../core/node/nodeState.js';
import { resolveStateDir } from '../../core/store/stateDir.js';
import { type Command, flagBool, flagString } from '../command.js';
import { jsonLine } from '../jsonOutput.js';
import { pasteable, pasteContextOf } from '../pasteable.js';
import { ProgressLine } from '../terminal.js';

/**
 * Tests only: "200,200,200" replaces the retry schedule (6 tries over 15 s), so a test of an
 * unreachable inviter takes a second, not fifteen.
 */
function testRetries(value: string | undefined): { retryDelaysMs?: number[] } {
  if (!value || !/^\d+(,\d+)*$/.test(value)) return {};
  return { retryDelaysMs: value.split(',').map(Number) };
}

export const join: Command = {
  name: 'join',
  summary: 'become a member of a network with an invite code',
  usage: 'CODE [--name NAME] [--listen PORT]',
  flags: {
    name: {
      type: 'string',
      arg: 'NAME',
      description: "this node's name in the network (default: the hostname)",
    },
    listen: {
      type: 'string',
      arg: 'PORT',
      description: `UDP port this node will listen on (default ${DEFAULT_LISTEN_PORT}, or the next one free for a second network)`,
    },
  },
  positionals: { min: 1, max: 1 },
  validate(ctx) {
    parseInviteCode(ctx.args[0]!);
    const given = flagString(ctx, 'name');
    if (given !== undefined) parseNameFlag(given);
    parsePort(flagString(ctx, 'listen'), DEFAULT_LISTEN_PORT);
  },
  changesNode: true,
  async run(ctx) {
    const name = parseNameFlag(flagString(ctx, 'name') ?? defaultMemberName());
    const givenListen = flagString(ctx, 'listen');
    const plan = planNewNetwork(resolveStateDir(flagString(ctx, 'state-dir'), ctx.env));
    // A host whose one network removed it gets the way out first, as before there were several.
    const only = plan.others.length === 1 ? plan.others[0]! : undefined;
    const onlyState = only && NodeState.open(only.stateDir);
    if (only && onlyState) assertNotRemoved(onlyState, only.stateDir);
    const listenPort = listenPortFor(
      plan,
      givenListen === undefined ? undefined : parsePort(givenListen, DEFAULT_LISTEN_PORT),
    );
    const expected = wantedNetwork(flagString(ctx, 'network'), ctx.env);
    const progress = new ProgressLine(ctx.stderr);
    let joined: Awaited<ReturnType<typeof joinNetwork>>;
    try {
      joined = await joinNetwork({
        stateDir: plan.keysDir,
        code: ctx.args[0]!,
        name,
        listenPort,
        place: (network) => {
          if (expected !== undefined && network.name !== expected) {
            throw new OverlayError(
              'EUSAGE',
              `this code is for the network ${network.name}, not ${expected}`,
              {
                hint: `join it without --network, or as --network ${network.name}`,
              },
            );
          }
          return placeNetwork(plan, network);
        },
        ...testRetries(ctx.env['OVERLAY_TEST_JOIN_RETRY_MS']),
        onEvent: (e) => {
          if (e.kind === 'progress')
            progress.update(`contacting the inviter (attempt ${e.attempt} of ${e.of})...`);
          if (e.kind === 'inviterFound') progress.update(`inviter found at ${e.endpoint}; asking to join...`);
        },
      });
    } finally {
      progress.done();
    }
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine(joined));
      return;
    }
    const which = plan.first ? '' : ` --network ${joined.network}`;
    ctx.stdout.write(
      `Joined the network "${joined.network}" as "${joined.name}", ${joined.ipv4} and ${joined.ipv6} (invited by ${joined.inviter}).\nNext: ${pasteable(`sudo overlay up${which}`, pasteContextOf(ctx))}\n`,
    );
  },
};
