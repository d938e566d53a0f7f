/**
 * The node's control API: every method and stream `overlay` and the live view call, with its
 * params and result, in one place. The server's handlers (controlMethods.ts) and the client
 * (`ControlClient<ControlApi, ControlStreams>`, cli/nodeClient.ts) are both typed by these maps,
 * so a wrong call does not compile. The transport and its wire format are core/control.
 */
import {
  type Decoders,
  type NoParams,
  noParams,
  optionalPositiveInt,
  requiredString,
} from '../control/typed.js';
import { LIFECYCLE_PARAMS, type LifecycleMethods } from '../daemon/lifecycleApi.js';
import type { InviteSummary } from '../membership/inviteBook.js';
import type { CreatedInviteCode, WireguardDevice } from './admin.js';
import type { LeaveResult } from './leave.js';
import type { NodeStatus } from './status.js';
import type { NodeIdentity } from './whoami.js';

/** The methods the node serves besides the daemon's `down`. */
export interface NodeMethods {
  status: { params: NoParams; result: NodeStatus };
  /** Name, addresses, network and public keys: what `overlay whoami` shows, never a secret. */
  whoami: { params: NoParams; result: NodeIdentity };
  /** Defaults: 24 h, one use, no label. */
  'invite.create': {
    params: { expiresInMs?: number; uses?: number; label?: string | null; admin?: boolean };
    result: CreatedInviteCode;
  };
  'invite.list': { params: NoParams; result: InviteSummary[] };
  'invite.revoke': { params: { id: string }; result: { id: string; revoked: true } };
  'invite.wireguard': { params: { name: string; publicKey?: string }; result: WireguardDevice };
  kick: { params: { name: string }; result: { name: string } };
  /** This member's revocation of itself, handed to every member reachable (leave.ts); the CLI then stops the node. */
  leave: { params: NoParams; result: LeaveResult };
}

export interface ControlApi extends LifecycleMethods, NodeMethods {}

/** One ping's outcome: the pong's round trip and path, or a timeout. */
export type PingEvent = { seq: number; name: string; address: string } & (
  | { rttMs: number; endpoint: string; path: 'direct' | 'relay' }
  | { timeout: true }
);

export interface ControlStreams {
  /** This node's status at once, then on every change. */
  watch: { params: NoParams; event: NodeStatus };
  /** `count` pings (default 4, at most 100), one a second. */
  ping: { params: { target: string; count?: number }; event: PingEvent };
}

/** The params of each method as checked when they arrive: the same messages the CLI has always shown. */
export const NODE_PARAMS: Decoders<NodeMethods> = {
  status: noParams,
  whoami: noParams,
  'invite.create': (raw) => ({
    expiresInMs: optionalPositiveInt(raw, 'expiresInMs'),
    uses: optionalPositiveInt(raw, 'uses'),
    // A label is a convenience: one that is not a string is dropped, not refused.
    label: typeof raw['label'] === 'string' ? raw['label'] : null,
    // Making an admin is never a default: only an explicit true asks for it.
    admin: raw['admin'] === true,
  }),
  'invite.list': noParams,
  'invite.revoke': (raw) => ({ id: requiredString(raw, 'id') }),
  'invite.wireguard': (raw) => ({
    name: requiredString(raw, 'name'),
    ...(typeof raw['publicKey'] === 'string' && { publicKey: raw['publicKey'] }),
  }),
  kick: (raw) => ({ name: requiredString(raw, 'name') }),
  leave: noParams,
};

export const STREAM_PARAMS: Decoders<ControlStreams> = {
  watch: noParams,
  ping: (raw) => ({ target: requiredString(raw, 'target'), count: optionalPositiveInt(raw, 'count') }),
};

/** Every method a running node serves, for the test that the served table has exactly these. */
export const CONTROL_METHODS = [
  ...Object.keys(LIFECYCLE_PARAMS),
  ...Object.keys(NODE_PARAMS),
] as (keyof ControlApi)[];
export const CONTROL_STREAMS = Object.keys(STREAM_PARAMS) as (keyof ControlStreams)[];

/**
 * What the node serves on its read-only socket (core/control/readOnlySocket.ts), which every local
 * user may open: methods that read the node's state and reveal no secret (no invite code, no
 * private key) and change nothing. Every other method is refused there (controlMethods.ts).
 * `ping` sends at most 100 pings, one a second (pingStream.ts), so a user's pings stay bounded.
 */
export const READ_ONLY_METHODS = ['status', 'whoami'] as const satisfies readonly (keyof NodeMethods)[];
export const READ_ONLY_STREAMS = ['watch', 'ping'] as const satisfies readonly (keyof ControlStreams)[];
