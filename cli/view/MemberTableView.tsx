/**
 * The member table. Rows are keyed by public key and cells by column, so an update re-renders
 * only what changed and the selection never jumps to another member.
 */
import { Box, Text } from 'ink';
import { Fragment } from 'react';
import type { Tone } from './detailLines.js';
import type { ViewPeer } from './evidence.js';
import { COLUMN_GAP, type ColumnId, type MemberTable } from './memberTable.js';
import { Toned } from './Toned.js';

const GAP = ' '.repeat(COLUMN_GAP);

function toneOf(id: ColumnId, peer: ViewPeer): Tone | undefined {
  if (id === 'path') return peer.path === 'relay' ? 'warn' : peer.path === 'direct' ? 'ok' : 'dim';
  if (id === 'handshake' && !peer.online) return 'bad';
  if (id === 'traffic' || id === 'endpoint') return 'dim';
  return undefined;
}

/** First row to show so the selected one stays on screen, near the middle when the list scrolls. */
export function windowStart(selectedIndex: number, count: number, max: number): number {
  if (count <= max) return 0;
  return Math.max(0, Math.min(selectedIndex - Math.floor(max / 2), count - max));
}

export function MemberTableView(props: {
  table: MemberTable;
  selected: string | null;
  /** Rows of members that fit (the header and the scroll markers are extra). */
  maxRows: number;
  color: boolean;
}) {
  const { table, selected, color } = props;
  const rows = table.rows;
  const max = Math.max(1, props.maxRows);
  const selectedIndex = Math.max(
    0,
    rows.findIndex((r) => r.key === selected),
  );
  const start = windowStart(selectedIndex, rows.length, max);
  const shown = rows.slice(start, start + max);
  const below = rows.length - start - shown.length;
  return (
    <Box flexDirection="column">
      <Text wrap="truncate-end">
        <Toned tone="title" color={color}>
          {'    '}
          {table.header.map((c) => c.text).join(GAP)}
        </Toned>
      </Text>
      {start > 0 ? <Text dimColor={color}>{`    ↑ ${start} more`}</Text> : null}
      {shown.map((row) => {
        const isSelected = row.key === selected;
        return (
          <Text key={row.key} wrap="truncate-end" inverse={color && isSelected}>
            {isSelected ? '› ' : '  '}
            <Toned tone={row.peer.online ? 'ok' : 'bad'} color={color}>
              {row.peer.online ? '*' : '-'}
            </Toned>{' '}
            {row.cells.map((c, i) => (
              <Fragment key={c.id}>
                {i > 0 ? GAP : ''}
                <Toned tone={toneOf(c.id, row.peer)} color={color}>
                  {c.text}
                </Toned>
              </Fragment>
            ))}
          </Text>
        );
      })}
      {below > 0 ? <Text dimColor={color}>{`    ↓ ${below} more`}</Text> : null}
    </Box>
  );
}
