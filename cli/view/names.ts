/** The names line of `overlay status` and its live view: the zone, who answers it, and the host's DNS. */
import type { NamesStatus } from '../../core/node/nodeDns.js';

export function namesText(n: NamesStatus): string {
  if (n.resolver === null) return `names ${n.zone}: no resolver${n.error ? ` (${n.error})` : ''}`;
  const h = n.host;
  const host =
    h.mode === 'resolved'
      ? `systemd-resolved on ${h.interface}`
      : h.mode === 'resolv.conf'
        ? h.path
        : h.mode === 'off'
          ? 'host DNS left alone (--no-dns)'
          : `host DNS left alone: ${h.why}`;
  return `names *.${n.zone} at ${n.resolver} (${host})`;
}
