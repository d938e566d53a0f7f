/**
 * The live view's data: the node's `watch` stream over its control socket, reconnecting every
 * second while the node is down (so the view picks the node up when it starts), and the actions
 * the view offers (invite, ping) as control calls.
 */
import { connectNode, type NodeClient } from './nodeClient.js';
import { qrText } from './terminal.js';
import type { PingResult, StatusSource, ViewActions } from './view/index.js';

const RETRY_MS = 1000;

export function controlSource(stateDir: string): StatusSource {
  return {
    subscribe(onStatus, onState) {
      let stopped = false;
      let client: NodeClient | undefined;
      let timer: NodeJS.Timeout | undefined;
      let first = true;
      const connect = async () => {
        if (first) onState('connecting');
        first = false;
        try {
          client = await connectNode(stateDir, 2000);
          if (stopped) return;
          onState('running');
          await client.stream('watch', {}, onStatus);
          if (!stopped) onState('not-running', 'the node stopped');
        } catch (e) {
          if (!stopped) onState('not-running', e instanceof Error ? e.message : String(e));
        } finally {
          client?.close();
          client = undefined;
        }
        if (!stopped) timer = setTimeout(connect, RETRY_MS);
      };
      void connect();
      return () => {
        stopped = true;
        if (timer) clearTimeout(timer);
        client?.close();
      };
    },
  };
}

export function controlActions(stateDir: string): ViewActions {
  const withClient = async <T>(fn: (c: NodeClient) => Promise<T>): Promise<T> => {
    const client = await connectNode(stateDir, 2000);
    try {
      return await fn(client);
    } finally {
      client.close();
    }
  };
  return {
    createInvite: () =>
      withClient(async (c) => {
        const invite = await c.call('invite.create', {});
        return { code: invite.code, expires: invite.expires, qr: qrText(invite.code) };
      }),
    ping: (name) =>
      withClient(async (c) => {
        let result: PingResult | undefined;
        await c.stream('ping', { target: name, count: 1 }, (p) => {
          if (!('timeout' in p)) {
            result = { rttMs: p.rttMs, path: p.path === 'relay' ? `relay ${p.endpoint}` : 'direct' };
          }
        });
        if (!result) throw new Error(`no answer from ${name} in 2 s`);
        return result;
      }),
  };
}
