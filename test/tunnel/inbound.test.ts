/**
 * What the data path hands up reaches the handshake side only when it concerns it: a batch of
 * overlay messages alone (most of what a node with many members hears) leaves the handshake timers
 * as they were, so they are not read again — reading them costs a pass over every peer
 * (bench:scale: 7% of a node's CPU at N = 100). Anything handshake-shaped is still carried out.
 */
import test from 'ava';
import type { DataPathEvent } from 'tun-napi';
import { ControlCounts } from '../../core/tunnel/controlCounts.js';
import type { HandshakeDriver } from '../../core/tunnel/handshakes.js';
import { Inbound, type InboundContext } from '../../core/tunnel/inbound.js';
import { PeerTable } from '../../core/tunnel/peerTable.js';
import type { Device } from '../../core/wireguard/device.js';
import { emptyOutput } from '../../core/wireguard/peer.js';

function world() {
  const seen = { applied: 0, toDevice: 0, overlay: 0 };
  const device = {
    receive: () => {
      seen.toDevice++;
      const out = emptyOutput();
      out.dropped.push('badLength');
      return out;
    },
  };
  const context: InboundContext = {
    device: device as unknown as Device,
    datapath: {} as InboundContext['datapath'],
    peers: new PeerTable(),
    handshakes: { apply: () => void seen.applied++ } as unknown as HandshakeDriver,
    counts: new ControlCounts(),
    onOverlayMessage: () => void seen.overlay++,
    onStunMessage: () => {},
    onTraffic: () => {},
  };
  return { inbound: new Inbound(context), seen };
}

const overlay = (): DataPathEvent => ({
  type: 'control',
  data: Buffer.from([0x80, 1, 2, 3]),
  from: '192.0.2.1:51820',
});
const handshake = (): DataPathEvent => ({
  type: 'control',
  data: Buffer.from([1, 0, 0, 0]),
  from: '192.0.2.1:51820',
});

test('a batch of overlay messages only goes to the node, and leaves the handshake timers alone', (t) => {
  const { inbound, seen } = world();
  inbound.onEvents([overlay(), overlay(), overlay()]);
  t.deepEqual(seen, { applied: 0, toDevice: 0, overlay: 3 });
});

test('a batch with a handshake message in it is carried out by the handshake side', (t) => {
  const { inbound, seen } = world();
  inbound.onEvents([overlay(), handshake(), overlay()]);
  t.deepEqual(seen, { applied: 1, toDevice: 1, overlay: 2 });
});

test("the data path's own events (a handshake needed, a peer roamed) are carried out too", (t) => {
  for (const event of [
    { type: 'handshake-needed', peer: 7 },
    { type: 'endpoint-changed', peer: 7, endpoint: '192.0.2.9:4000' },
    { type: 'session-confirmed', peer: 7, localIndex: 1 },
  ] as DataPathEvent[]) {
    const { inbound, seen } = world();
    inbound.onEvents([overlay(), event]);
    t.is(seen.applied, 1, event.type);
  }
});
