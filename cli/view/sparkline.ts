/** A row of block characters drawing the most recent samples, scaled to the row's own peak. */

const BLOCKS = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/**
 * The last `width` samples as blocks, right-aligned (newest at the right edge, padded with spaces
 * on the left while history is short). Zero draws the lowest block so an idle link still shows a
 * baseline; anything above zero draws at least the second block so a trickle is visible.
 */
export function sparkline(samples: readonly number[], width: number): string {
  if (width <= 0) return '';
  const recent = samples.slice(-width);
  const peak = Math.max(0, ...recent);
  const top = BLOCKS.length - 1;
  const drawn = recent.map((v) => {
    if (peak <= 0 || v <= 0) return BLOCKS[0];
    const level = Math.max(1, Math.round((v / peak) * top));
    return BLOCKS[Math.min(top, level)];
  });
  return ' '.repeat(width - drawn.length) + drawn.join('');
}
