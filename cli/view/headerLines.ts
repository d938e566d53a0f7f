/** The view's top lines: this node, its addresses and endpoints, NAT seen, uptime. */
import type { ViewStatus } from './evidence.js';
import { duration, wrapText } from './format.js';

/**
 * `receivedAt`: when this status arrived. The watch stream skips statuses whose only change is
 * the uptime, so the view counts on from the last one it got.
 */
export function headerLines(status: ViewStatus, receivedAt: number, nowMs: number, width: number): string[] {
  const s = status.self;
  const uptime = s.uptimeS + Math.max(0, Math.floor((nowMs - receivedAt) / 1000));
  const first = [s.name, ...s.addresses, `up ${duration(uptime)}`, ...(s.admin ? ['admin'] : [])].join('  ');
  const second = [
    `endpoints ${s.endpoints.join(', ') || 'none yet'}`,
    `UDP ${s.listenPort} on ${s.interface}`,
    ...(s.natType ? [`NAT ${s.natType}`] : []),
  ].join('  ');
  return [...wrapText(first, width), ...wrapText(second, width)];
}
