/**
 * The control API's methods that act on the network (the CLI's invite, kick, ...). Parameters
 * arrive as untrusted JSON from the socket: each is checked before use.
 */
import type { Handler, StreamHandler } from '../control/index.js';
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

const PING_TIMEOUT_MS = 2000;
const MAX_PINGS = 100;

/**
 * The `ping` stream: one event per ping, {seq, rttMs, endpoint} or {seq, timeout: true}, one a
 * second, `count` of them (default 4), until the client closes.
 */
export function pingStream(node: OverlayNode): StreamHandler {
  return async (params, emit, signal) => {
    const target = str(params, 'target');
    const count = Math.min(int(params, 'count', 4), MAX_PINGS);
    const now = Date.now();
    const member = node.roster.memberByName(target, now) ?? node.roster.memberByAddress(target, now);
    if (!member) {
      throw new OverlayError('EUSAGE', `no member is named or addressed "${target}"`, {
        hint: 'see overlay peers',
      });
    }
    if (member.subject === node.self(now).subject) throw new OverlayError('EUSAGE', 'that is this node');
    if (member.certificate.kind === 'wireguard') {
      throw new OverlayError(
        'EUSAGE',
        `${member.certificate.name} is a plain WireGuard device: it cannot answer`,
        {
          hint: 'ping its address with the system ping',
        },
      );
    }
    for (let seq = 1; seq <= count && !signal.aborted; seq++) {
      const started = Date.now();
      const pong = await node.ping(member, PING_TIMEOUT_MS);
      if (signal.aborted) return;
      emit(
        pong
          ? { seq, name: member.certificate.name, address: member.certificate.ipv4, ...pong }
          : { seq, name: member.certificate.name, address: member.certificate.ipv4, timeout: true },
      );
      const wait = 1000 - (Date.now() - started);
      if (seq < count && wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  };
}
