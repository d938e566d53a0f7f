/**
 * The live view of a host in several networks (issue 14): one network's StatusApp at a time under
 * a line naming them all; Tab (shift-Tab back) shows the next. Each network keeps its own source;
 * switching mounts the other's view afresh, which subscribes to that network's node.
 */
import { Box, Text, useInput, useStdout } from 'ink';
import { useState } from 'react';
import { StatusApp, type StatusAppProps } from './StatusApp.js';
import type { StatusSource, ViewActions } from './source.js';

export interface NetworkPane {
  name: string;
  source: StatusSource;
  actions: ViewActions;
}

/** The StatusApp's own props, but one source and one set of actions per network. */
export type NetworkSwitcherProps = Omit<StatusAppProps, 'source' | 'actions'> & {
  networks: readonly NetworkPane[];
};

/** The line above the view: every network, the shown one in brackets, and the key that switches. */
export function networkTabs(names: readonly string[], shown: number): string {
  const tabs = names.map((n, i) => (i === shown ? `[${n}]` : ` ${n} `)).join(' ');
  return `networks: ${tabs}   tab: next network`;
}

/** The network shown after a Tab (forward) or shift-Tab (back), wrapping around. */
export function nextNetwork(count: number, shown: number, back: boolean): number {
  return (shown + (back ? count - 1 : 1)) % count;
}

export function NetworkSwitcher({ networks, ...view }: NetworkSwitcherProps) {
  const [shown, setShown] = useState(0);
  const { stdout } = useStdout();
  useInput((_input, key) => {
    if (key.tab) setShown((i) => nextNetwork(networks.length, i, key.shift));
  });
  const pane = networks[shown]!;
  return (
    <Box flexDirection="column">
      <Text bold={view.color}>
        {networkTabs(
          networks.map((n) => n.name),
          shown,
        )}
      </Text>
      <StatusApp
        {...view}
        key={pane.name}
        source={pane.source}
        actions={pane.actions}
        // The tabs line takes one row of the terminal.
        rows={(view.rows ?? (stdout.rows || 24)) - 1}
      />
    </Box>
  );
}
