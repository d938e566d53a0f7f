/**
 * The detail panel for one member as lines of at most `width` characters: label on the left,
 * value wrapped under itself. Pure, so the panel's height is known before Ink draws it.
 */
import type { ViewPeer, ViewStatus } from './evidence.js';
import { age, compactRate, duration, elapsed, longBytes, pathLabel, rtt, wrapText } from './format.js';
import { natText } from './nat.js';
import { explainPath } from './pathExplanation.js';
import type { TrafficState } from './traffic.js';
import { trafficOf } from './traffic.js';

export type Tone = 'title' | 'ok' | 'warn' | 'bad' | 'dim';

export interface PanelLine {
  text: string;
  tone?: Tone;
}

/** A ping's outcome as the panel and the message line show it. */
export type PingView =
  | { name: string; state: 'pending' }
  | { name: string; state: 'done'; rttMs: number; path: string }
  | { name: string; state: 'failed'; message: string };

const LABEL = 13;
const NOT_YET = 'not measured yet';

function field(label: string, value: string, width: number, tone?: Tone): PanelLine[] {
  const wrapped = wrapText(value, Math.max(10, width - LABEL));
  return wrapped.map((text, i) => ({
    text: (i === 0 ? label.padEnd(LABEL) : ' '.repeat(LABEL)) + text,
    ...(tone ? { tone } : {}),
  }));
}

function until(iso: string, nowMs: number): string {
  const ms = Date.parse(iso) - nowMs;
  if (Number.isNaN(ms)) return iso;
  return ms >= 0 ? `expires in ${duration(ms / 1000)}` : `expired ${duration(-ms / 1000)} ago`;
}

export function pingText(p: PingView): string {
  if (p.state === 'pending') return `pinging ${p.name}…`;
  if (p.state === 'failed') return `ping ${p.name} failed: ${p.message}`;
  return `ping ${p.name}: ${rtt(p.rttMs)} via ${p.path}`;
}

function countersText(peer: ViewPeer, status: ViewStatus): string {
  const own = peer.counters !== undefined;
  const entries = Object.entries(peer.counters ?? status.counters)
    .filter(([, v]) => v !== 0)
    .sort(([a], [b]) => a.localeCompare(b));
  const list = entries.length === 0 ? 'all zero' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
  // Today the node keeps counters for the whole data path, not per member: say which these are.
  return own ? list : `node-wide: ${list}`;
}

export function detailLines(
  peer: ViewPeer,
  status: ViewStatus,
  traffic: TrafficState,
  nowMs: number,
  width: number,
  ping: PingView | null,
): PanelLine[] {
  const { why, hints } = explainPath(peer, status);
  const t = trafficOf(traffic, peer.publicKey);
  const lines: PanelLine[] = [{ text: `${peer.name}  ${peer.addresses.join('  ')}`, tone: 'title' }];
  const add = (label: string, value: string, tone?: Tone) => lines.push(...field(label, value, width, tone));

  add(
    'online',
    peer.online
      ? `yes, last handshake ${age(peer.lastHandshake, nowMs)} ago`
      : peer.lastHandshake
        ? `no, last handshake ${age(peer.lastHandshake, nowMs)} ago`
        : 'no, never completed a handshake',
    peer.online ? 'ok' : 'bad',
  );
  add(
    'path',
    peer.path ? pathLabel(peer.path, peer.via) : 'none',
    peer.path === 'relay' ? 'warn' : undefined,
  );
  add('endpoint', peer.endpoint ?? 'none');
  for (const w of why) add('why', w);
  add(
    'NAT',
    `here ${natText(status.self.nat, status.self.natType) ?? NOT_YET}; at ${peer.name} ${natText(peer.nat, peer.natType) ?? NOT_YET}`,
  );
  if (peer.candidates === undefined) add('candidates', NOT_YET);
  else if (peer.candidates.length === 0) add('candidates', 'none tried yet');
  else {
    peer.candidates.forEach((c, i) => {
      const parts = [c.endpoint, c.kind ? `(${c.kind})` : '', c.result];
      if (c.rttMs !== null && c.rttMs !== undefined) parts.push(rtt(c.rttMs));
      if (c.at) parts.push(`${age(c.at, nowMs)} ago`);
      add(i === 0 ? 'candidates' : '', parts.filter(Boolean).join(' '), c.result === 'ok' ? 'ok' : undefined);
    });
  }
  const loss = peer.lossPct === null || peer.lossPct === undefined ? NOT_YET : `${peer.lossPct}%`;
  const fresh = peer.measuredAt ? `measured ${age(peer.measuredAt, nowMs)} ago` : 'freshness not reported';
  add('RTT, loss', `${rtt(peer.rttMs)}; loss ${loss}; ${fresh}`);
  add(
    'went direct',
    peer.directAfterMs === null || peer.directAfterMs === undefined
      ? NOT_YET
      : `${elapsed(peer.directAfterMs)} after first contact`,
  );
  add(
    'traffic',
    `rx ${longBytes(peer.rxBytes)} (${compactRate(t.rx)}/s), tx ${longBytes(peer.txBytes)} (${compactRate(t.tx)}/s)`,
  );
  add(
    'certificate',
    `${peer.kind === 'wireguard' ? 'WireGuard device' : 'member'}${peer.admin ? ', admin' : ''}; ${
      peer.certExpires ? until(peer.certExpires, nowMs) : 'expiry not reported'
    }`,
  );
  add('key', peer.publicKey, 'dim');
  add('counters', countersText(peer, status), 'dim');
  if (ping && ping.name === peer.name)
    add('ping', pingText(ping), ping.state === 'failed' ? 'bad' : undefined);
  for (const h of hints) add('hint', h, 'warn');
  return lines;
}
