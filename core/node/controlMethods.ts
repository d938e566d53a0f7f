/**
 * The server's side of the node's control API (controlApi.ts): one handler per method and stream,
 * built here for `overlay up` to serve. Params arrive checked by the API's decoders; a missing or
 * mistyped handler does not compile.
 */
import type { Handler, StreamHandler } from '../control/index.js';
import { bindHandlers, bindStreams, type Handlers, type Streams } from '../control/typed.js';
import { OverlayError } from '../errors.js';
import { addWireguardDevice, createInvite, kick, listInvites, revokeInvite } from './admin.js';
import {
  CONTROL_METHODS,
  type ControlStreams,
  NODE_PARAMS,
  type NodeMethods,
  READ_ONLY_METHODS,
  READ_ONLY_STREAMS,
  STREAM_PARAMS,
} from './controlApi.js';
import { leaveNetwork } from './leave.js';
import type { OverlayNode } from './node.js';
import { pingStream } from './pingStream.js';
import { nodeStatus } from './status.js';
import { watchStream } from './watch.js';
import { nodeIdentity } from './whoami.js';

const DEFAULT_INVITE_MS = 24 * 3_600_000;

export function nodeMethods(node: OverlayNode): Handlers<NodeMethods> {
  return {
    status: async () => nodeStatus(node),
    whoami: async () => nodeIdentity(node),
    'invite.create': async (p) =>
      createInvite(node, {
        expiresInMs: p.expiresInMs ?? DEFAULT_INVITE_MS,
        uses: p.uses ?? 1,
        label: p.label ?? null,
        admin: p.admin === true,
      }),
    'invite.list': async () => listInvites(node),
    'invite.revoke': async ({ id }) => revokeInvite(node, id),
    'invite.wireguard': async ({ name, publicKey }) => addWireguardDevice(node, name, publicKey),
    kick: async ({ name }) => kick(node, name),
    leave: async () => leaveNetwork(node),
  };
}

export function nodeStreams(node: OverlayNode): Streams<ControlStreams> {
  return { watch: watchStream(node), ping: pingStream(node) };
}

/**
 * What `overlay up` gives the daemon to serve: both tables, each handler behind its params
 * decoder. Building them touches nothing of the node; handlers reach it only when called.
 */
export interface ControlTables {
  handlers: Record<string, Handler>;
  streams: Record<string, StreamHandler>;
}

export function nodeControl(node: OverlayNode): ControlTables & { readOnly: ControlTables } {
  const handlers = bindHandlers(NODE_PARAMS, nodeMethods(node));
  const streams = bindStreams(STREAM_PARAMS, nodeStreams(node));
  return { handlers, streams, readOnly: readOnlyTables(handlers, streams) };
}

/**
 * The read-only socket's tables: the methods of READ_ONLY_METHODS and READ_ONLY_STREAMS, and for
 * every other method of the API a refusal that reads nothing, not even its params: a user gets
 * "needs root" rather than "no such method", and the node's state is never touched.
 */
export function readOnlyTables(
  handlers: Record<string, Handler>,
  streams: Record<string, StreamHandler>,
): ControlTables {
  const table: Record<string, Handler> = {};
  for (const method of CONTROL_METHODS) {
    table[method] = async () => {
      throw new OverlayError(
        'EPERM',
        `${method} needs root: this control socket only reads the node's state`,
        {
          hint: 'run the command with sudo',
        },
      );
    };
  }
  for (const method of READ_ONLY_METHODS) table[method] = handlers[method]!;
  const readStreams: Record<string, StreamHandler> = {};
  for (const name of READ_ONLY_STREAMS) readStreams[name] = streams[name]!;
  return { handlers: table, streams: readStreams };
}
