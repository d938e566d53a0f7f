/** The view's top lines: this node, its addresses and endpoints, NAT seen, uptime. */
import type { ViewStatus } from './evidence.js';
import { duration, wrapText } from './format.js';
import { namesText } from './names.js';
import { natText, PROTOCOL_NAMES } from './nat.js';

/**
 * `receivedAt`: when this status arrived. The watch stream skips statuses whose only change is
 * the uptime, so the view counts on from the last one it got.
 */
export function headerLines(status: ViewStatus, receivedAt: number, nowMs: number, width: number): string[] {
  const s = status.self;
  const uptime = s.uptimeS + Math.max(0, Math.floor((nowMs - receivedAt) / 1000));
  return [
    ...pack([s.name, ...s.addresses, `up ${duration(uptime)}`, ...(s.admin ? ['admin'] : [])], width),
    ...pack(
      [
        `endpoints ${s.endpoints.join(', ') || 'none yet'}`,
        `UDP ${s.listenPort} on ${s.interface}`,
        ...natItem(s),
        ...(s.relay === false ? ['relays for no one'] : []),
        ...optional(portMappingText(s.portMapping)),
        ...(s.stun ?? []).map((x) => `STUN ${x.server} ${x.reflexive ? `sees ${x.reflexive}` : 'no answer'}`),
        ...(s.names ? [namesText(s.names)] : []),
      ],
      width,
    ),
  ];
}

/** The NAT as classified (nat.ts); "not measured yet" until a vantage point has seen this node. */
function natItem(s: ViewStatus['self']): string[] {
  const text = natText(s.nat, s.natType);
  if (text) return [`NAT ${text}`];
  return s.nat || s.natType ? ['NAT not measured yet'] : [];
}

/** An item that may be absent, as a list to spread: a string spread alone would be its letters. */
function optional(item: string | undefined): string[] {
  return item === undefined ? [] : [item];
}

/** Which protocol maps which port at the gateway, or that none does when a gateway was asked. */
export function portMappingText(p: ViewStatus['self']['portMapping']): string | undefined {
  if (!p?.gateway) return undefined;
  const m = p.mapped;
  return m
    ? `${PROTOCOL_NAMES[m.protocol]} maps ${m.external} to UDP ${m.internalPort}`
    : `no port mapping at ${p.gateway}`;
}

/**
 * Lays out items two spaces apart, breaking lines between items. An item wider than the terminal
 * is wrapped at its spaces onto lines of its own, so no line holds part of one item and another.
 */
function pack(items: string[], width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const item of items) {
    const joined = line ? `${line}  ${item}` : item;
    if ([...joined].length <= width) {
      line = joined;
      continue;
    }
    if (line) lines.push(line);
    if ([...item].length <= width) {
      line = item;
      continue;
    }
    lines.push(...wrapText(item, width));
    line = '';
  }
  if (line) lines.push(line);
  return lines;
}
