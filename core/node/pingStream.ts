/**
 * The control API's `ping` stream: one event per ping, {seq, rttMs, endpoint, path} or
 * {seq, timeout: true}, one a second, `count` of them (default 4), until the client closes.
 */
import type { Streams } from '../control/typed.js';
import { OverlayError } from '../errors.js';
import type { ControlStreams } from './controlApi.js';
import type { OverlayNode } from './node.js';

const PING_TIMEOUT_MS = 2000;
const MAX_PINGS = 100;

export function pingStream(node: OverlayNode): Streams<ControlStreams>['ping'] {
  return async ({ target, count: asked }, emit, signal) => {
    const count = Math.min(asked ?? 4, MAX_PINGS);
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
