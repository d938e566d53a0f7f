/** Short, fixed-vocabulary text for the view's cells: sizes, rates, ages, round-trip times. */

const UNITS = ['B', 'K', 'M', 'G', 'T'];

/** A byte count in at most five characters (binary units): "512B", "1.2K", "38K", "1.0G". */
export function compactBytes(n: number): string {
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)}B`;
  // One decimal only while it fits: "9.9K" but "10K", so the column never widens.
  const text = v < 9.95 ? v.toFixed(1) : String(Math.round(v));
  return `${text}${UNITS[i]}`;
}

/** Bytes for the detail panel, where there is room: "1.5 MiB". */
export function longBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = Math.max(0, n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** A rate in bytes per second, or "-" before there are two samples to compute it from. */
export function compactRate(bytesPerS: number | null): string {
  return bytesPerS === null ? '-' : compactBytes(bytesPerS);
}

/** A span of seconds as the largest two units: "45s", "3m05s", "2h03m", "4d02h". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** How long ago an ISO time was, in at most five characters: "4s", "12m", "3h", "2d", "never". */
export function age(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return 'never';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '?';
  const s = Math.max(0, Math.floor((nowMs - t) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** A round-trip time: "0.4ms", "12ms", "1.2s"; "-" when not measured. */
export function rtt(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '-';
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The path in words: "direct", "relay via gw", "relay" when the relay is unknown, "-" when none. */
export function pathLabel(path: 'direct' | 'relay' | null, via: string | null): string {
  if (path === 'direct') return 'direct';
  if (path === 'relay') return via ? `relay via ${via}` : 'relay';
  return '-';
}

/** Cuts text to `width` characters, marking the cut with an ellipsis so a clipped name never passes for a whole one. */
export function clip(text: string, width: number): string {
  if (width <= 0) return '';
  const chars = [...text];
  if (chars.length <= width) return text;
  return width === 1 ? '…' : `${chars.slice(0, width - 1).join('')}…`;
}

/** Clips or pads to exactly `width` characters. */
export function fitWidth(text: string, width: number, align: 'left' | 'right' = 'left'): string {
  const c = clip(text, width);
  const pad = ' '.repeat(Math.max(0, width - [...c].length));
  return align === 'left' ? c + pad : pad + c;
}

/** A span in milliseconds where sub-second matters: "350ms", "1.2s", then as `duration`. */
export function elapsed(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  return duration(ms / 1000);
}

/**
 * Breaks text into lines of at most `width` characters at spaces (a word longer than the line is
 * cut), so the view knows its own height: Ink redraws the whole screen once output outgrows the
 * terminal, which is the flicker this view avoids.
 */
export function wrapText(text: string, width: number): string[] {
  const w = Math.max(1, width);
  const len = (x: string) => [...x].length;
  const lines: string[] = [];
  let line = '';
  // Runs of spaces inside a line are kept (the header aligns with them); at a break they vanish.
  for (const token of text.match(/\S+|\s+/g) ?? ['']) {
    if (/^\s/.test(token)) {
      if (line) line += token;
      continue;
    }
    let word = token;
    if (line && len(line) + len(word) > w) {
      lines.push(line.trimEnd());
      line = '';
    }
    while (len(word) > w) {
      const chars = [...word];
      lines.push(chars.slice(0, w).join(''));
      word = chars.slice(w).join('');
    }
    line += word;
  }
  lines.push(line.trimEnd());
  return lines;
}
