/**
 * The detail panel for one member as lines of at most `width` characters: label on the left,
 * value wrapped under itself. Pure, so the panel's height is known before Ink draws it.
 */
import type { CandidateTried, ViewPeer, ViewStatus } from './evidence.js';
import { age, compactRate, duration, elapsed, longBytes, pathLabel, rtt, wrapText } from './format.js';
import { natText } from './nat.js';
import { explainPath, inUseCandidate } from './pathExplanation.js';
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

/**
 * One candidate and what came of it: "ok 12ms 3s ago" when it answered recently. Otherwise `at`
 * is its last answer, so the row says so: an idle one was simply not asked since (an idle path
 * is pinged every 20-25 s, and perhaps only by the peer), unlike one whose probes went unanswered.
 */
function candidateText(c: CandidateTried, name: string, nowMs: number): string {
  const head = c.kind ? `${c.endpoint} (${c.kind})` : c.endpoint;
  const ms = c.rttMs === null || c.rttMs === undefined ? '' : rtt(c.rttMs);
  const ago = c.at ? `${age(c.at, nowMs)} ago` : '';
  const lastAnswer = `${ago}${ms && ` (${ms})`}`;
  let text: string;
  if (c.result === 'ok') text = [head, 'ok', ms, ago].filter(Boolean).join(' ');
  else if (c.result === 'idle') text = `${head} idle: answered ${lastAnswer}, not asked since`;
  else text = `${head} ${c.result}${ago && `; last answer ${lastAnswer}`}`;
  return c.heardAt ? `${text}; ${name} pinged from it ${age(c.heardAt, nowMs)} ago` : text;
}

/** How old the path's RTT and loss are; on an idle path, that no probe went out since, and the peer's last ping on it. */
function freshness(peer: ViewPeer, nowMs: number): string {
  if (!peer.measuredAt) return 'freshness not reported';
  const measured = `measured ${age(peer.measuredAt, nowMs)} ago`;
  const inUse = inUseCandidate(peer);
  if (inUse?.result !== 'idle') return measured;
  const heard = inUse.heardAt ? `, ${peer.name} pinged on it ${age(inUse.heardAt, nowMs)} ago` : '';
  return `${measured} (idle: not asked since${heard})`;
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
      add(
        i === 0 ? 'candidates' : '',
        candidateText(c, peer.name, nowMs),
        c.result === 'ok' ? 'ok' : undefined,
      );
    });
  }
  const loss = peer.lossPct === null || peer.lossPct === undefined ? NOT_YET : `${peer.lossPct}%`;
  add('RTT, loss', `${rtt(peer.rttMs)}; loss ${loss}; ${freshness(peer, nowMs)}`);
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
