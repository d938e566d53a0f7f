/** Shown while there is no node to talk to: what is wrong, the command that fixes it, and that the view is waiting. */
import { Box, Text } from 'ink';
import type { SourceState } from './source.js';
import { Toned } from './Toned.js';

export function NotRunning(props: { state: SourceState; detail: string | undefined; color: boolean }) {
  if (props.state === 'connecting') {
    return <Text>connecting to the overlay node…</Text>;
  }
  return (
    <Box flexDirection="column">
      <Toned tone="bad" color={props.color}>
        overlay is not running on this machine{props.detail ? ` (${props.detail})` : ''}
      </Toned>
      <Text>
        start it with:{'  '}
        <Toned tone="title" color={props.color}>
          sudo overlay up
        </Toned>
      </Text>
      <Text>waiting for it to start…</Text>
    </Box>
  );
}
