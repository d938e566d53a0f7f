/**
 * The control API's methods that act on the network (the CLI's invite, kick, ...). Parameters
 * arrive as untrusted JSON from the socket: each is checked before use.
 */
import type { Handler } from '../control/index.js';
import { OverlayError } from '../errors.js';
import { addWireguardDevice, createInvite, kick } from './admin.js';
import type { OverlayNode } from './node.js';

function str(params: Record<string, unknown>, key: string): string {
  const v = params[key];
  if (typeof v !== 'string' || v.length === 0) throw new OverlayError('EUSAGE', `${key} is required`);
  return v;
}

function int(params: Record<string, unknown>, key: string, fallback: number): number {
  const v = params[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw new OverlayError('EUSAGE', `${key} must be a positive whole number`);
  }
  return v;
}

export function nodeAdminHandlers(node: OverlayNode): Record<string, Handler> {
  return {
    'invite.create': async (p) =>
      createInvite(node, {
        expiresInMs: int(p, 'expiresInMs', 24 * 3_600_000),
        uses: int(p, 'uses', 1),
        label: typeof p['label'] === 'string' ? p['label'] : null,
      }),
    'invite.list': async () => node.invites.list(Date.now()),
    'invite.revoke': async (p) => {
      const id = str(p, 'id');
      if (!node.invites.revoke(id)) {
        throw new OverlayError('EUSAGE', `no invite has the id ${id}`, { hint: 'see overlay invite list' });
      }
      node.saveInvites();
      return { id, revoked: true };
    },
    'invite.wireguard': async (p) => addWireguardDevice(node, str(p, 'name')),
    kick: async (p) => kick(node, str(p, 'name')),
  };
}
