import { OverlayError } from '../core/errors.js';

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** "90s", "30m", "24h", "7d", "2w", or combinations like "1h30m", as milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+)([smhdw])/g)];
  const total = parts.reduce((sum, m) => sum + Number(m[1]) * UNITS[m[2]!]!, 0);
  if (parts.length === 0 || parts.map((m) => m[0]).join('') !== text || total <= 0) {
    throw new OverlayError('EUSAGE', `${flag} ${JSON.stringify(text)} is not a duration`, {
      hint: 'use a number with s, m, h, d or w, e.g. 30m, 24h, 7d',
    });
  }
  return total;
}
