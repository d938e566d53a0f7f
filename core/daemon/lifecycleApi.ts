/**
 * The control method every running node serves, whatever it is: `down`. The daemon owns it (it
 * alone can shut the process down), so it is typed here and joined into the node's API
 * (core/node/controlApi.ts); `overlay down` calls it through the same types.
 */
import { type Decoders, type Handlers, type NoParams, noParams } from '../control/typed.js';

export interface LifecycleMethods {
  down: { params: NoParams; result: { pid: number; stopping: true } };
}

export const LIFECYCLE_PARAMS: Decoders<LifecycleMethods> = { down: noParams };

/** `shutdown` runs after the answer is written: the handler's result goes out before the socket closes. */
export function lifecycleHandlers(shutdown: () => void): Handlers<LifecycleMethods> {
  return {
    down: async () => {
      setImmediate(shutdown);
      return { pid: process.pid, stopping: true };
    },
  };
}
