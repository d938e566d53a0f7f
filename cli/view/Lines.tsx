/** A block of pre-wrapped lines, each one terminal row, so its height is exactly its length. */
import { Box, Text } from 'ink';
import type { PanelLine } from './detailLines.js';
import { Toned } from './Toned.js';

export function Lines(props: { lines: readonly PanelLine[]; color: boolean }) {
  return (
    <Box flexDirection="column">
      {props.lines.map((l, i) => (
        // Rows of a panel have no identity beyond their place; the panel is rebuilt as a whole.
        // biome-ignore lint/suspicious/noArrayIndexKey: see above
        <Text key={i} wrap="truncate-end">
          <Toned tone={l.tone} color={props.color}>
            {l.text}
          </Toned>
        </Text>
      ))}
    </Box>
  );
}

/** Keeps at most `max` lines, saying how many were cut so nothing vanishes silently. */
export function clipLines(lines: readonly PanelLine[], max: number): PanelLine[] {
  if (lines.length <= max) return [...lines];
  const keep = Math.max(0, max - 1);
  return [
    ...lines.slice(0, keep),
    { text: `… ${lines.length - keep} more lines (enlarge the terminal)`, tone: 'dim' },
  ];
}
