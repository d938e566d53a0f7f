/**
 * resolv.conf as text (resolv.conf(5), glibc's reading of it): the nameservers a host uses, and the
 * file with overlay's resolver put first and the network's zone first in the search list. Pure
 * functions; hostDns.ts reads and writes the file.
 */
import type { Endpoint } from '../base/endpoint.js';
import { formatIP, parseIP } from '../base/ip.js';

/** glibc's MAXNS: nameservers after the third are never asked. */
export const MAX_NAMESERVERS = 3;

/** What the first line of an overlay-written resolv.conf says, so a person reading it knows. */
export const MARKER =
  "# overlay: the first nameserver and the first search domain are overlay up's; overlay down puts this file back as it was";

/** The nameservers glibc would ask, in order, as endpoints (port 53); unparsable ones skipped. */
export function nameservers(text: string): Endpoint[] {
  const out: Endpoint[] = [];
  for (const words of directives(text)) {
    if (words[0] !== 'nameserver' || words[1] === undefined) continue;
    // A link-local server carries its zone ("fe80::1%eth0"): without the zone it is unusable.
    const bytes = words[1].includes('%') ? undefined : parseIP(words[1]);
    if (bytes) out.push({ address: formatIP(bytes), port: 53 });
  }
  return out.slice(0, MAX_NAMESERVERS);
}

/**
 * The file with overlay's resolver as the first nameserver (the host's own stay after it: should
 * the node die without `down`, glibc moves on to them after its timeout) and `zone` first in the
 * search list, so `ssh b` finds `b.ZONE`. glibc obeys only the last `search` or `domain` line;
 * that one gets the zone, and a file with neither gets a `search` line of its own.
 */
export function withOverlay(original: string, resolver: string, zone: string): string {
  const lines = original.split('\n');
  if (lines.at(-1) === '') lines.pop();
  let last = -1;
  lines.forEach((line, i) => {
    const word = words(line)[0];
    if (word === 'search' || word === 'domain') last = i;
  });
  if (last >= 0) {
    const [, ...domains] = words(lines[last]!);
    lines[last] = ['search', zone, ...domains.filter((d) => d !== zone && d !== `${zone}.`)].join(' ');
  } else {
    lines.push(`search ${zone}`);
  }
  return [MARKER, `nameserver ${resolver}`, ...lines, ''].join('\n');
}

/** The words of each directive line: comments (`#` or `;` first) and blank lines left out. */
function directives(text: string): string[][] {
  return text
    .split('\n')
    .map(words)
    .filter((w) => w.length > 0);
}

function words(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed.startsWith('#') || trimmed.startsWith(';')) return [];
  return trimmed.split(/\s+/).filter(Boolean);
}
