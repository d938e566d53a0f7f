import type { Writable } from 'node:stream';

/**
 * Every JSON line the CLI prints goes through here, so scripts see one style: times as ISO 8601
 * strings (callers convert), and measured numbers rounded to the microsecond, not printed with
 * the float's full 17 digits (rttMs 2.7157159999987925 reads as 2.716).
 */
export function jsonLine(value: unknown): string {
  return `${JSON.stringify(value, (_key, v) => (typeof v === 'number' && !Number.isInteger(v) ? roundMicro(v) : v))}\n`;
}

export function writeJson(out: Writable, value: unknown): void {
  out.write(jsonLine(value));
}

function roundMicro(v: number): number {
  return Math.round(v * 1000) / 1000;
}
