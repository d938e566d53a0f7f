/** Mounts the status view in ink-testing-library with a fixed clock and no colour, and waits for frames. */
import type { ExecutionContext } from 'ava';
import { render } from 'ink-testing-library';
import { createElement } from 'react';
import type { ViewStatus } from '../../cli/view/evidence.js';
import { StatusApp, type StatusAppProps } from '../../cli/view/StatusApp.js';
import type { NodeStatus } from '../../core/node/status.js';
import { FakeActions, FakeSource } from './fakeSource.js';
import { recordedStream, STEP_MS, T0 } from './fixtures.js';

export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  backspace: '\u007F',
};

export interface Harness {
  source: FakeSource;
  actions: FakeActions;
  clock: { t: number };
  exits: number;
  frame(): string;
  /** Resolves once the latest frame satisfies `test`; fails with the frame it last saw. */
  until(test: (frame: string) => boolean, what: string): Promise<string>;
  /** Sends a status from the source and waits until Ink has drawn a frame after it. */
  emit(status: NodeStatus | ViewStatus): Promise<string>;
  /** Types keys one at a time, letting the view render between them as a person's typing would. */
  press(...keys: string[]): Promise<void>;
  unmount(): void;
}

const tick = () => new Promise((r) => setTimeout(r, 5));

/** Mounts the view for one test; it is unmounted when the test ends, passed or failed, so no Ink instance outlives it. */
export function mount(
  t: ExecutionContext,
  props: Partial<StatusAppProps> & { actions?: FakeActions } = {},
): Harness {
  const source = new FakeSource();
  const actions = props.actions ?? new FakeActions();
  const clock = { t: T0 };
  const h = {
    source,
    actions,
    clock,
    exits: 0,
  } as Harness;
  const app = render(
    createElement(StatusApp, {
      source,
      actions,
      color: false,
      columns: 100,
      rows: 40,
      now: () => clock.t,
      tickMs: 0,
      onExit: () => {
        h.exits++;
      },
      ...props,
    }),
  );
  h.frame = () => app.lastFrame() ?? '';
  h.until = async (test, what) => {
    for (let i = 0; i < 200; i++) {
      if (test(h.frame())) return h.frame();
      await tick();
    }
    throw new Error(`timed out waiting for ${what}; last frame:\n${h.frame()}`);
  };
  h.emit = async (status) => {
    const before = app.frames.length;
    source.emit(status);
    return h.until(() => app.frames.length > before, 'a frame after the status');
  };
  h.press = async (...keys) => {
    for (const k of keys) {
      app.stdin.write(k);
      await tick();
    }
  };
  h.unmount = () => app.unmount();
  t.teardown(() => {
    app.unmount();
    app.cleanup();
  });
  return h;
}

/** Plays the first `count` statuses of the recording into the view, one per second of the fake clock. */
export async function play(h: Harness, count = recordedStream.length): Promise<void> {
  h.source.state('running');
  for (const [i, s] of recordedStream.slice(0, count).entries()) {
    if (i > 0) h.clock.t += STEP_MS;
    await h.emit(s);
  }
}
