/**
 * The control API's `watch` stream: this node's status once at once, then whenever it changes,
 * checked every second, for `overlay status --json --watch` and the live view. Byte counters are
 * part of the status, so a busy link yields one line a second; an idle network, almost none.
 */
import type { Streams } from '../control/typed.js';
import type { ControlStreams } from './controlApi.js';
import type { OverlayNode } from './node.js';
import { nodeStatus } from './status.js';

const WATCH_INTERVAL_MS = 1000;

/** Fields that change every second without anything happening (ages, uptime) are left out of the comparison. */
function fingerprint(s: ReturnType<typeof nodeStatus>): string {
  return JSON.stringify({ ...s, self: { ...s.self, uptimeS: 0 } });
}

export function watchStream(node: OverlayNode): Streams<ControlStreams>['watch'] {
  return (_params, emit, signal) =>
    new Promise<void>((resolve) => {
      let last = '';
      const send = () => {
        const status = nodeStatus(node);
        const print = fingerprint(status);
        if (print !== last) {
          last = print;
          emit(status);
        }
      };
      send();
      const timer = setInterval(send, WATCH_INTERVAL_MS);
      signal.addEventListener('abort', () => {
        clearInterval(timer);
        resolve();
      });
    });
}
