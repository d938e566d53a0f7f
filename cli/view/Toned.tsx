/** Text in one of the view's few tones; with colour off (NO_COLOR) it is plain text, so every meaning also has a marker or a word. */
import { Text } from 'ink';
import type { ReactNode } from 'react';
import type { Tone } from './detailLines.js';

const STYLE: Record<Tone, { color?: string; bold?: boolean; dimColor?: boolean }> = {
  title: { bold: true },
  ok: { color: 'green' },
  warn: { color: 'yellow' },
  bad: { color: 'red' },
  dim: { dimColor: true },
};

export function Toned(props: { tone?: Tone | undefined; color: boolean; children: ReactNode }) {
  const style = props.color && props.tone ? STYLE[props.tone] : {};
  return <Text {...style}>{props.children}</Text>;
}
