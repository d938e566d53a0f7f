/**
 * The live view of a host in several networks (issue 14): one network's StatusApp at a time under
 * a line naming them all; Tab (shift-Tab back) shows the next. Each network keeps its own source;
 * switching mounts the other's view afresh, which subscribes to that network's node.
 */
import { Box, Text, useInput, useStdout } from 'ink';
import { useState } from 'react';
import { StatusApp } from './StatusApp.js';
import type { StatusSource, ViewActions } from './source.js';

export interface NetworkPane {
  name: string;
  source: StatusSource;
  actions: ViewActions;
}

export interface NetworkSwitcherProps {
  networks: readonly NetworkPane[];
  color: boolean;
  columns?: number;
  rows?: number;
  now?: () => number;
  tickMs?: number;
  onExit?: () => void;
}

/** The line above the view: every network, the shown one in brackets, and the key that switches. */
export function networkTabs(names: readonly string[], shown: number): string {
  const tabs = names.map((n, i) => (i === shown ? `[${n}]` : ` ${n} `)).join(' ');
  return `networks: ${tabs}   tab: next network`;
}

/** The network shown after a Tab (forward) or shift-Tab (back), wrapping around. */
export function nextNetwork(count: number, shown: number, back: boolean): number {
  return (shown + (back ? count - 1 : 1)) % count;
}

export function NetworkSwitcher(props: NetworkSwitcherProps) {
  const [shown, setShown] = useState(0);
  const { stdout } = useStdout();
  useInput((_input, key) => {
    if (key.tab) setShown((i) => nextNetwork(props.networks.length, i, key.shift));
  });
  const pane = props.networks[shown]!;
  const rows = (props.rows ?? (stdout.rows || 24)) - 1;
  return (
    <Box flexDirection="column">
      <Text bold={props.color}>
        {networkTabs(
          props.networks.map((n) => n.name),
          shown,
        )}
      </Text>
      <StatusApp
        key={pane.name}
        source={pane.source}
        actions={pane.actions}
        color={props.color}
        rows={rows}
        {...(props.columns !== undefined && { columns: props.columns })}
        {...(props.now !== undefined && { now: props.now })}
        {...(props.tickMs !== undefined && { tickMs: props.tickMs })}
        {...(props.onExit !== undefined && { onExit: props.onExit })}
      />
    </Box>
  );
}
