/**
 * The server's side of the node's control API (controlApi.ts): one handler per method and stream,
 * built here for `overlay up` to serve. Params arrive checked by the API's decoders; a missing or
 * mistyped handler does not compile.
 */
import type { Handler, StreamHandler } from '../control/index.js';
import { bindHandlers, bindStreams, type Handlers, type Streams } from '../control/typed.js';
import { addWireguardDevice, createInvite, kick, listInvites, revokeInvite } from './admin.js';
import { type ControlStreams, NODE_PARAMS, type NodeMethods, STREAM_PARAMS } from './controlApi.js';
import type { OverlayNode } from './node.js';
import { pingStream } from './pingStream.js';
import { nodeStatus } from './status.js';
import { watchStream } from './watch.js';

const DEFAULT_INVITE_MS = 24 * 3_600_000;

export function nodeMethods(node: OverlayNode): Handlers<NodeMethods> {
  return {
    status: async () => nodeStatus(node),
    'invite.create': async (p) =>
      createInvite(node, {
        expiresInMs: p.expiresInMs ?? DEFAULT_INVITE_MS,
        uses: p.uses ?? 1,
        label: p.label ?? null,
      }),
    'invite.list': async () => listInvites(node),
    'invite.revoke': async ({ id }) => revokeInvite(node, id),
    'invite.wireguard': async ({ name }) => addWireguardDevice(node, name),
    kick: async ({ name }) => kick(node, name),
  };
}

export function nodeStreams(node: OverlayNode): Streams<ControlStreams> {
  return { watch: watchStream(node), ping: pingStream(node) };
}

/**
 * What `overlay up` gives the daemon to serve: both tables, each handler behind its params
 * decoder. Building them touches nothing of the node; handlers reach it only when called.
 */
export function nodeControl(node: OverlayNode): {
  handlers: Record<string, Handler>;
  streams: Record<string, StreamHandler>;
} {
  return {
    handlers: bindHandlers(NODE_PARAMS, nodeMethods(node)),
    streams: bindStreams(STREAM_PARAMS, nodeStreams(node)),
  };
}
