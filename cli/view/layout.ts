/**
 * Fitting table columns to a terminal width. Each column says how wide its content wants to be,
 * how narrow it may get, and how much it matters. The least important columns disappear until
 * every remaining one fits at its minimum; then the room left goes to the most important first,
 * so a sparkline narrows before an address is ever clipped.
 */

export interface ColumnSpec {
  id: string;
  /** Width of the widest cell, header included. */
  want: number;
  /** Narrowest still worth showing; equal to `want` for a column that must not be clipped. */
  min: number;
  /** Higher stays longer and grows first. */
  priority: number;
  /** Never dropped (only shrunk), because a row makes no sense without it. */
  required?: boolean;
}

export interface PlacedColumn {
  id: string;
  width: number;
}

/** Columns that fit in `total` characters, in their original order, `gap` apart after a `prefix`. */
export function layoutColumns(
  specs: readonly ColumnSpec[],
  total: number,
  gap: number,
  prefix: number,
): PlacedColumn[] {
  const kept = new Set(specs);
  const minimum = () => {
    const cols = [...kept];
    return (
      prefix + cols.reduce((n, s) => n + Math.min(s.min, s.want), 0) + gap * Math.max(0, cols.length - 1)
    );
  };
  // Lowest priority goes first; among equals, the one further right.
  const dropOrder = specs
    .map((s, i) => ({ s, i }))
    .filter(({ s }) => !s.required)
    .sort((a, b) => a.s.priority - b.s.priority || b.i - a.i)
    .map(({ s }) => s);
  for (const s of dropOrder) {
    if (minimum() <= total) break;
    kept.delete(s);
  }

  const width = new Map([...kept].map((s) => [s, Math.min(s.min, s.want)]));
  let spare = total - minimum();
  const growOrder = [...kept].sort((a, b) => b.priority - a.priority);
  for (const s of growOrder) {
    if (spare <= 0) break;
    const grow = Math.min(spare, s.want - width.get(s)!);
    width.set(s, width.get(s)! + grow);
    spare -= grow;
  }
  return specs.filter((s) => kept.has(s)).map((s) => ({ id: s.id, width: width.get(s)! }));
}
