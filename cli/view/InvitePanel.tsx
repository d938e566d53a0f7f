/** The `i` panel: a fresh invite code and its QR code, for the person joining next. */

import type { PanelLine } from './detailLines.js';
import { age, duration, wrapText } from './format.js';
import { Lines } from './Lines.js';
import type { InviteResult } from './source.js';

export type InviteView =
  | { state: 'pending' }
  | { state: 'done'; result: InviteResult }
  | { state: 'failed'; message: string };

export function inviteLines(invite: InviteView, nowMs: number, width: number, maxLines: number): PanelLine[] {
  if (invite.state === 'pending') return [{ text: 'making an invite…' }];
  if (invite.state === 'failed') {
    return wrapText(`could not make an invite: ${invite.message}`, width).map((text) => ({
      text,
      tone: 'bad',
    }));
  }
  const { code, expires, qr } = invite.result;
  const left = Date.parse(expires) - nowMs;
  const when = Number.isNaN(left)
    ? expires
    : left >= 0
      ? `in ${duration(left / 1000)}`
      : `expired ${age(expires, nowMs)} ago`;
  const lines: PanelLine[] = [
    { text: `invite code  ${code}`, tone: 'title' },
    { text: `expires      ${when}` },
    ...wrapText(`on the new member's machine: sudo overlay join ${code}`, width).map((text) => ({ text })),
  ];
  const qrRows = qr.replace(/\n+$/, '').split('\n');
  // A QR code cut in half scans as nothing: show all of it or say why not.
  if (qrRows.length + lines.length + 1 <= maxLines)
    lines.push({ text: ' ' }, ...qrRows.map((text) => ({ text })));
  else lines.push({ text: 'the terminal is too short for the QR code; type the code instead', tone: 'dim' });
  return lines;
}

export function InvitePanel(props: {
  invite: InviteView;
  nowMs: number;
  width: number;
  maxLines: number;
  color: boolean;
}) {
  return (
    <Lines lines={inviteLines(props.invite, props.nowMs, props.width, props.maxLines)} color={props.color} />
  );
}
