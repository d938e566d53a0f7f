/**
 * The node's control API is typed end to end (issue 11, point 6). Each `@ts-expect-error` below is
 * a call or a handler that must not compile: `npm test` builds with tsc first, and tsc fails on an
 * expect-error line that compiles, so if the API's types decayed to `any` the build breaks. The
 * same wrong calls also run, to show what the node answers a client that skips the types.
 */
import path from 'node:path';
import test from 'ava';
import { callNode } from '../../cli/nodeClient.js';
import { ControlClient } from '../../core/control/client.js';
import { codeOf } from '../../core/control/controlError.js';
import { bindHandlers, bindStreams, type Handlers } from '../../core/control/typed.js';
import { LIFECYCLE_PARAMS, lifecycleHandlers } from '../../core/daemon/lifecycleApi.js';
import {
  CONTROL_METHODS,
  CONTROL_STREAMS,
  type ControlApi,
  type ControlStreams,
  NODE_PARAMS,
  type NodeMethods,
  STREAM_PARAMS,
} from '../../core/node/controlApi.js';
import { nodeControl } from '../../core/node/controlMethods.js';
import type { OverlayNode } from '../../core/node/node.js';
import type { NodeStatus } from '../../core/node/status.js';
import { startServer } from './harness.js';

/** A node whose every property throws: building the tables must not touch it. */
const untouchable = new Proxy({} as OverlayNode, {
  get(_target, key) {
    throw new Error(`the control tables touched node.${String(key)} while being built`);
  },
});

test('a running node serves exactly the methods and streams of its control API', (t) => {
  const node = nodeControl(untouchable);
  // As runForeground serves them: the node's table plus the daemon's `down`.
  const served = {
    ...node.handlers,
    ...bindHandlers(
      LIFECYCLE_PARAMS,
      lifecycleHandlers(() => {}),
    ),
  };
  t.deepEqual(Object.keys(served).sort(), [...CONTROL_METHODS].sort());
  t.deepEqual(Object.keys(node.streams).sort(), [...CONTROL_STREAMS].sort());
  t.true(CONTROL_METHODS.includes('status') && CONTROL_METHODS.includes('down'), 'the list is not empty');
});

test('a handler for a method the API lacks is refused when the table is built', (t) => {
  const smuggled = { kick: async ({ name }: { name: string }) => ({ name }), reboot: async () => null };
  const e = t.throws(() =>
    bindHandlers(NODE_PARAMS, smuggled as unknown as Handlers<Pick<NodeMethods, 'kick'>>),
  );
  t.regex(e.message, /"reboot" is not in the API/);
});

type Served = Pick<NodeMethods, 'status' | 'kick'>;

/** A node that serves `status`, `kick` and `ping` behind the real params decoders. */
async function stubNode(t: import('ava').ExecutionContext) {
  const kicked: string[] = [];
  const handlers: Handlers<Served> = {
    status: async () => ({ peers: [] }) as unknown as NodeStatus,
    kick: async ({ name }) => {
      kicked.push(name);
      return { name };
    },
  };
  const server = await startServer(t, {
    handlers: bindHandlers<Served>(NODE_PARAMS, handlers),
    streams: bindStreams<Pick<ControlStreams, 'ping'>>(STREAM_PARAMS, {
      ping: ({ target, count }, emit) => emit({ seq: count ?? 4, name: target, address: '', timeout: true }),
    }),
  });
  const client = await ControlClient.connect<ControlApi, ControlStreams>(server.socketPath);
  t.teardown(() => client.close());
  return { client, kicked, stateDir: path.dirname(server.socketPath) };
}

test('a typed call gets its typed result; wrong names and params do not compile', async (t) => {
  const { client, kicked } = await stubNode(t);
  const result: { name: string } = await client.call('kick', { name: 'b' });
  t.deepEqual(result, { name: 'b' });
  t.deepEqual(kicked, ['b']);

  // @ts-expect-error the result is { name: string }, not any
  const wrongResult: number = await client.call('kick', { name: 'c' });
  t.deepEqual(wrongResult, { name: 'c' });

  // @ts-expect-error no method is called "kik"
  t.is(codeOf(await t.throwsAsync(client.call('kik', { name: 'b' }))), 'ENOMETHOD');
  // @ts-expect-error kick needs a name
  t.is((await t.throwsAsync(client.call('kick', {}))).message, 'name is required');
  // @ts-expect-error kick's name is a string
  t.is(codeOf(await t.throwsAsync(client.call('kick', { name: 7 }))), 'EUSAGE');
  // @ts-expect-error kick's params cannot be left out
  t.is(codeOf(await t.throwsAsync(client.call('kick'))), 'EUSAGE');
  // @ts-expect-error status takes no params (the node ignores any, as it always has)
  t.deepEqual(await client.call('status', { verbose: true }), { peers: [] });
  t.deepEqual(kicked, ['b', 'c'], 'no wrong call reached the handler');
});

test("the CLI's callNode infers the result from the method; wrong params do not compile", async (t) => {
  const { stateDir } = await stubNode(t);
  const ctx = {
    args: [],
    flags: { 'state-dir': stateDir },
    stdout: process.stdout,
    stderr: process.stderr,
    env: {},
  };
  const kicked: { name: string } = await callNode(ctx, 'kick', { name: 'b' });
  t.deepEqual(kicked, { name: 'b' });
  // @ts-expect-error the result of status is a NodeStatus, not a number
  const wrongResult: number = await callNode(ctx, 'status');
  t.deepEqual(wrongResult, { peers: [] });
  // @ts-expect-error kick needs a name
  t.is(codeOf(await t.throwsAsync(callNode(ctx, 'kick'))), 'EUSAGE');
});

test('a typed stream gets typed events; a wrong stream or params do not compile', async (t) => {
  const { client } = await stubNode(t);
  const events: ControlStreams['ping']['event'][] = [];
  await client.stream('ping', { target: 'b', count: 2 }, (e) => events.push(e));
  t.deepEqual(events, [{ seq: 2, name: 'b', address: '', timeout: true }]);

  // @ts-expect-error ping needs a target
  t.is((await t.throwsAsync(client.stream('ping', {}, () => {}))).message, 'target is required');
  // @ts-expect-error no stream is called "wach"
  t.is(codeOf(await t.throwsAsync(client.stream('wach', {}, () => {}))), 'ENOMETHOD');
  // @ts-expect-error a ping event is not a status
  await client.stream('ping', { target: 'b' }, (e: NodeStatus) => events.push(e as never));
});

test('a handler table missing a method or with a mistyped result does not compile', (t) => {
  // @ts-expect-error kick is missing
  const missing: Handlers<Served> = { status: async () => ({}) as NodeStatus };
  const mistyped: Handlers<Served> = {
    status: async () => ({}) as NodeStatus,
    // @ts-expect-error kick answers { name }, not { nom }
    kick: async ({ name }) => ({ nom: name }),
  };
  t.false('kick' in bindHandlers<Served>(NODE_PARAMS, missing), 'what the compiler prevents');
  t.true('kick' in bindHandlers<Served>(NODE_PARAMS, mistyped));
});

test('params are checked as before: counts must be positive whole numbers, null means absent', (t) => {
  t.is(
    t.throws(() => NODE_PARAMS['invite.create']({ uses: 0 })).message,
    'uses must be a positive whole number',
  );
  t.is(
    t.throws(() => STREAM_PARAMS.ping({ target: 'b', count: 1.5 })).message,
    'count must be a positive whole number',
  );
  t.deepEqual(NODE_PARAMS['invite.create']({ expiresInMs: null, uses: 3, label: 5 }), {
    expiresInMs: undefined,
    uses: 3,
    label: null,
    admin: false,
  });
  // Making an admin needs an explicit true: anything else is a plain invite.
  t.is(NODE_PARAMS['invite.create']({ admin: 'yes' }).admin, false);
  t.is(NODE_PARAMS['invite.create']({ admin: true }).admin, true);
});
