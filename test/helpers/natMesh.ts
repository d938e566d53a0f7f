import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { OverlayHost } from './lan.js';
import { joinVia, NatWorld } from './natWorld.js';
import { stateRoot } from './overlayNetwork.js';

/**
 * A NatWorld with two public members up, p (203.0.113.10, the network's first) and q
 * (203.0.113.11): the two vantage points every member behind a NAT needs to classify it, and
 * members that reach everyone. Members behind NATs join via p (joinVia) under `root`.
 */
export async function twoPublicMembers(t: Pick<ExecutionContext, 'teardown'>, tag: string) {
  const w = new NatWorld(t, tag);
  const root = stateRoot(t);
  const p = new OverlayHost(w.publicHost('p', '203.0.113.10'), join(root, 'p'));
  await p.ok(['init', '--name', 'p']);
  await p.ok(['up']);
  const q = new OverlayHost(w.publicHost('q', '203.0.113.11'), join(root, 'q'));
  await joinVia(p, q, 'q');
  return { w, root, p, q };
}
