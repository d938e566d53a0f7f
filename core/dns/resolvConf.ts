/**
 * resolv.conf as text (resolv.conf(5), glibc's reading of it): the nameservers a host uses, and the
 * file with overlay's resolver put first and the network's zone first in the search list. Pure
 * functions; hostDns.ts reads and writes the file.
 *
 * A host in several networks (issue 14) runs one node, and one resolver, per network, and each
 * adds its own layer: two lines at the top (a marker naming its zone, its nameserver) and two at
 * the bottom (the marker, a search line that glibc obeys, being the last). Nothing else in the file
 * is touched, so taking a layer out (withoutOverlay) gives back the bytes it was put on, whichever
 * network goes down first. glibc asks the nameservers in order and moves on at a REFUSED answer
 * (res_send.c), which is what a resolver answers for another network's zone (resolver.ts).
 */
import type { Endpoint } from '../base/endpoint.js';
import { formatIP, parseIP } from '../base/ip.js';

/** glibc's MAXNS: nameservers after the third are never asked. */
export const MAX_NAMESERVERS = 3;

/** The line before each line overlay adds for `zone`, so a person reading the file knows. */
export function markerFor(zone: string): string {
  return `# overlay ${zone}: the next line is overlay up's; overlay down takes it out`;
}

const MARKER = /^# overlay (\S+): the next line is overlay up's/;

/**
 * The host's own nameservers, in order, as endpoints (port 53); unparsable ones skipped, and those
 * overlay put there (after a marker) too: a resolver forwards only to the host's own, never to
 * another network's resolver, so two can never forward to each other in a loop.
 */
export function nameservers(text: string): Endpoint[] {
  const out: Endpoint[] = [];
  const lines = text.split('\n');
  for (const [i, line] of lines.entries()) {
    const words = wordsOf(line);
    if (words[0] !== 'nameserver' || words[1] === undefined) continue;
    if (i > 0 && MARKER.test(lines[i - 1]!)) continue;
    // A link-local server carries its zone ("fe80::1%eth0"): without the zone it is unusable.
    const bytes = words[1].includes('%') ? undefined : parseIP(words[1]);
    if (bytes) out.push({ address: formatIP(bytes), port: 53 });
  }
  return out.slice(0, MAX_NAMESERVERS);
}

/**
 * The file with overlay's resolver as the first nameserver (the host's own stay after it: should
 * the node die without `down`, glibc moves on to them after its timeout) and `zone` first in the
 * search list, so `ssh b` finds `b.ZONE`. glibc obeys only the last `search` or `domain` line: a
 * new last one holds the zone, then the domains of the one before (another network's zone among
 * them), which stays as it was.
 */
export function withOverlay(original: string, resolver: string, zone: string): string {
  const { body, end } = splitLines(original);
  let domains: string[] = [];
  for (const line of body) {
    const [word, ...rest] = wordsOf(line);
    if (word === 'search') domains = rest;
    if (word === 'domain') domains = rest.slice(0, 1);
  }
  const search = ['search', zone, ...domains.filter((d) => d !== zone && d !== `${zone}.`)].join(' ');
  return joinLines([markerFor(zone), `nameserver ${resolver}`, ...body, markerFor(zone), search], end);
}

/**
 * The file with `zone`'s layer taken out (its marked lines, and the zone from other networks'
 * search lines), or undefined when it holds none: on a file overlay wrote on top of, this gives
 * back the bytes it was given.
 */
export function withoutOverlay(text: string, zone: string): string | undefined {
  const { body, end } = splitLines(text);
  const kept: string[] = [];
  let found = false;
  for (let i = 0; i < body.length; i++) {
    if (MARKER.exec(body[i]!)?.[1] === zone) {
      found = true;
      i++;
    } else {
      kept.push(body[i]!);
    }
  }
  if (!found) return undefined;
  const out = kept.map((line, i) => {
    const [word, ...rest] = wordsOf(line);
    if (word !== 'search' || i === 0 || !MARKER.test(kept[i - 1]!)) return line;
    return ['search', ...rest.filter((d) => d !== zone && d !== `${zone}.`)].join(' ');
  });
  return out.length === 0 ? '' : joinLines(out, end);
}

/** The lines of a file, and whether it ended with a newline, so that joinLines gives its bytes back. */
function splitLines(text: string): { body: string[]; end: boolean } {
  const body = text.split('\n');
  const end = body.at(-1) === '';
  if (end) body.pop();
  return { body, end };
}

function joinLines(lines: readonly string[], end: boolean): string {
  return lines.join('\n') + (end ? '\n' : '');
}

function wordsOf(line: string): string[] {
  const trimmed = line.trim();
  if (trimmed.startsWith('#') || trimmed.startsWith(';')) return [];
  return trimmed.split(/\s+/).filter(Boolean);
}
