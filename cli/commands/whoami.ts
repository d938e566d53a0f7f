import { encodeKey } from '../../core/base/keys.js';
import { IdentityStore } from '../../core/identity/identityStore.js';
import { resolveStateDir } from '../../core/store/stateDir.js';
import { type Command, flagBool, flagString } from '../command.js';

export const whoami: Command = {
  name: 'whoami',
  summary: "show this node's name and WireGuard public key (made on first use)",
  usage: '[--json] [--state-dir DIR]',
  flags: {},
  positionals: { min: 0, max: 0 },
  run(ctx) {
    const stateDir = resolveStateDir(flagString(ctx, 'state-dir'), ctx.env);
    const identity = IdentityStore.openOrCreate(stateDir).load();
    const out = {
      name: identity.name,
      publicKey: encodeKey(identity.keys.wireguard.publicKey),
      signingKey: encodeKey(identity.keys.signing.publicKey),
      stateDir,
    };
    if (flagBool(ctx, 'json')) {
      ctx.stdout.write(`${JSON.stringify(out)}\n`);
      return;
    }
    ctx.stdout.write(
      [
        `name:        ${out.name ?? '(none yet: overlay init --name NAME, or join a network)'}`,
        `public key:  ${out.publicKey}`,
        `signing key: ${out.signingKey}`,
        `state:       ${out.stateDir}`,
        '',
      ].join('\n'),
    );
  },
};
