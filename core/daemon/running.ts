import { ControlClient } from '../control/client.js';
import { isControlError } from '../control/controlError.js';
import { controlSocketPath } from '../control/protocol.js';

/**
 * Whether a node runs for this state directory: something accepts connections on its control
 * socket. A stale socket file (its node was killed) refuses them, so it does not count; a node
 * too busy to answer still does, so nobody starts a second one next to it.
 * Throws EPERM when the socket belongs to another user (a node started with sudo).
 */
export async function isRunning(stateDir: string, options: { timeoutMs?: number } = {}): Promise<boolean> {
  let client: ControlClient;
  try {
    client = await ControlClient.connect(controlSocketPath(stateDir), {
      timeoutMs: options.timeoutMs ?? 2000,
    });
  } catch (e) {
    if (isControlError(e, 'ENOTRUNNING')) return false;
    if (isControlError(e, 'ETIMEOUT') || isControlError(e, 'EBUSY')) return true;
    throw e;
  }
  client.close();
  return true;
}
