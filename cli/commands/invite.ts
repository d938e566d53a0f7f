import { OverlayError } from '../../core/errors.js';
import { type Command, type CommandContext, flagBool, flagString } from '../command.js';
import { parseDuration } from '../duration.js';
import { jsonLine } from '../jsonOutput.js';
import { callNode } from '../nodeClient.js';
import { isTty, qrText } from '../terminal.js';

function parseUses(text: string | undefined): number {
  if (text === undefined) return 1;
  if (!/^\d+$/.test(text) || Number(text) < 1) {
    throw new OverlayError('EUSAGE', `--uses ${JSON.stringify(text)} is not a whole number of uses`, {
      hint: 'e.g. --uses 1 (the default) or --uses 10',
    });
  }
  return Number(text);
}

async function create(ctx: CommandContext): Promise<void> {
  const device = flagString(ctx, 'wireguard');
  const pubkey = flagString(ctx, 'pubkey');
  if (pubkey !== undefined && device === undefined) {
    throw new OverlayError('EUSAGE', '--pubkey names the key of a --wireguard device', {
      hint: 'overlay invite --wireguard NAME --pubkey KEY',
    });
  }
  if (device !== undefined) {
    const d = await callNode(ctx, 'invite.wireguard', {
      name: device,
      ...(pubkey !== undefined && { publicKey: pubkey }),
    });
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(jsonLine(d));
      return;
    }
    if (d.endpointScope === 'lan') {
      ctx.stderr.write(
        `overlay: warning: the config's Endpoint ${d.endpoint} is a LAN address: "${d.name}" reaches this node only from this network (a public address or port forward: overlay up --endpoint HOST:PORT)\n`,
      );
    } else if (d.endpoint === null) {
      ctx.stderr.write(
        `overlay: warning: the config has no Endpoint: this node knows no address of its own yet; add one to the config by hand\n`,
      );
    }
    // The config holds the device's private key: it is printed once, here, and kept nowhere.
    const secret = d.privateKeyIncluded
      ? '; keep it secret: its private key is shown only this once and kept nowhere'
      : '';
    ctx.stdout.write(`# wg-quick config for "${d.name}" (${d.address})${secret}\n${d.config}`);
    if (isTty(ctx.stdout)) ctx.stdout.write(`\n${qrText(d.config)}\n`);
    return;
  }
  const expires = flagString(ctx, 'expires');
  const invite = await callNode(ctx, 'invite.create', {
    expiresInMs: expires === undefined ? 24 * 3_600_000 : parseDuration(expires, '--expires'),
    uses: parseUses(flagString(ctx, 'uses')),
    label: flagString(ctx, 'name') ?? null,
    admin: flagBool(ctx, 'admin'),
  });
  if (flagBool(ctx, 'json')) {
    ctx.stdout.write(jsonLine({ code: invite.code, expires: invite.expires, id: invite.id }));
    return;
  }
  if (!isTty(ctx.stdout)) {
    ctx.stdout.write(`${invite.code}\n`);
    return;
  }
  ctx.stdout.write(
    [
      invite.code,
      '',
      qrText(invite.code),
      `Valid until ${invite.expires} for ${invite.uses} join${invite.uses === 1 ? '' : 's'} (id ${invite.id})${flagBool(ctx, 'admin') ? '; whoever joins with it becomes an admin' : ''}.`,
      `The joiner runs: overlay join ${invite.code}`,
      'This node must be up when the code is used: the joiner asks it, and no one else, to let them in.',
      '',
    ].join('\n'),
  );
}

async function list(ctx: CommandContext): Promise<void> {
  const invites = await callNode(ctx, 'invite.list');
  if (flagBool(ctx, 'json')) {
    ctx.stdout.write(
      jsonLine(
        invites.map(({ expiresAt, ...rest }) => ({ ...rest, expires: new Date(expiresAt).toISOString() })),
      ),
    );
    return;
  }
  if (invites.length === 0) {
    ctx.stdout.write('no invites\n');
    return;
  }
  for (const i of invites) {
    ctx.stdout.write(
      `${i.id}  ${i.state.padEnd(7)}  ${i.usesLeft}/${i.uses} left  until ${new Date(i.expiresAt).toISOString()}${i.admin ? '  admin' : ''}${i.label ? `  ${i.label}` : ''}\n`,
    );
  }
}

export const invite: Command = {
  name: 'invite',
  summary: 'make a code that lets someone join (admins); also: invite list, invite revoke ID',
  usage:
    '[--expires 24h] [--uses 1] [--name LABEL] [--admin] [--wireguard NAME [--pubkey KEY]] | list | revoke ID',
  flags: {
    expires: {
      type: 'string',
      arg: 'DURATION',
      description: 'how long the code works, e.g. 30m, 24h, 7d (default 24h)',
    },
    uses: { type: 'string', arg: 'N', description: 'how many joins it allows (default 1)' },
    admin: {
      type: 'boolean',
      description: 'whoever joins with it becomes an admin too (may invite and kick)',
    },
    name: { type: 'string', arg: 'LABEL', description: 'a label to recognise the invite by in invite list' },
    wireguard: {
      type: 'string',
      arg: 'NAME',
      description: 'instead: add a plain WireGuard device and print its wg-quick config',
    },
    pubkey: {
      type: 'string',
      arg: 'KEY',
      description: 'with --wireguard: the public key of a device that made its own key pair',
    },
  },
  positionals: { min: 0, max: 2 },
  changesNode: true,
  completes: { words: ['list', 'revoke'] },
  async run(ctx) {
    const [sub, arg] = ctx.args;
    if (sub === undefined) return create(ctx);
    if (sub === 'list' && arg === undefined) return list(ctx);
    if (sub === 'revoke' && arg !== undefined) {
      await callNode(ctx, 'invite.revoke', { id: arg });
      ctx.stdout.write(
        flagBool(ctx, 'json') ? jsonLine({ id: arg, revoked: true }) : `invite ${arg} revoked\n`,
      );
      return;
    }
    throw new OverlayError('EUSAGE', `invite: unknown use "${ctx.args.join(' ')}"`, {
      hint: 'overlay invite, overlay invite list, or overlay invite revoke ID',
    });
  },
};
