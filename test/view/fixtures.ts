/**
 * A recorded status stream from node "alpha": four statuses one second apart, as the control
 * API's `watch` sends them. bravo and delta are direct, charlie is relayed through delta, echo
 * has never shaken hands. Addresses from the documentation ranges and 100.64.0.0/10 only.
 */

import type { ViewStatus } from '../../cli/view/evidence.js';
import type { NodeStatus, PeerStatus } from '../../core/node/status.js';

/** The fixed clock reading at which the first status arrives. */
export const T0 = Date.parse('2025-01-15T12:00:00.000Z');
export const STEP_MS = 1000;

const iso = (ms: number) => new Date(ms).toISOString();

function peer(p: Partial<PeerStatus> & Pick<PeerStatus, 'name' | 'addresses' | 'publicKey'>): PeerStatus {
  return {
    online: true,
    path: 'direct',
    via: null,
    endpoint: null,
    rttMs: null,
    lastHandshake: null,
    rxBytes: 0,
    txBytes: 0,
    kind: 'member',
    admin: false,
    certExpires: '2026-01-15T12:00:00.000Z',
    ...p,
  };
}

/** Per step, bytes received and sent since the start: bravo is busy, charlie trickles, delta is steady. */
const RX = {
  bravo: [0, 250_000, 650_000, 900_000],
  charlie: [0, 2_000, 4_000, 7_000],
  delta: [0, 40_000, 80_000, 120_000],
};
const TX = {
  bravo: [0, 50_000, 90_000, 130_000],
  charlie: [0, 1_000, 2_000, 3_000],
  delta: [0, 10_000, 20_000, 30_000],
};

export function statusAt(step: number): NodeStatus {
  return {
    self: {
      name: 'alpha',
      addresses: ['100.64.0.1', 'fd5a:1f00:0:1::1'],
      publicKey: 'QWxwaGFLZXlBbHBoYUtleUFscGhhS2V5QWxwaGFLZXk=',
      endpoints: ['192.0.2.10:51820', '198.18.0.10:51820'],
      interface: 'ovl0',
      listenPort: 51820,
      admin: true,
      uptimeS: 7380 + step,
    },
    peers: [
      // Deliberately not in name order: the view sorts, the node need not.
      peer({
        name: 'echo',
        addresses: ['100.64.0.5', 'fd5a:1f00:0:1::5'],
        publicKey: 'RWNob0tleUVjaG9LZXlFY2hvS2V5RWNob0tleUVjaG8=',
        online: false,
        path: null,
      }),
      peer({
        name: 'bravo',
        addresses: ['100.64.0.2', 'fd5a:1f00:0:1::2'],
        publicKey: 'QnJhdm9LZXlCcmF2b0tleUJyYXZvS2V5QnJhdm9LZXk=',
        endpoint: '198.51.100.7:51820',
        rttMs: 12.3,
        lastHandshake: iso(T0 - 4000),
        rxBytes: RX.bravo[step]!,
        txBytes: TX.bravo[step]!,
        admin: true,
      }),
      peer({
        name: 'charlie',
        addresses: ['100.64.0.3', 'fd5a:1f00:0:1::3'],
        publicKey: 'Q2hhcmxpZUtleUNoYXJsaWVLZXlDaGFybGllS2V5Q2g=',
        path: 'relay',
        via: 'delta',
        endpoint: '203.0.113.9:51820',
        rttMs: 48.7,
        lastHandshake: iso(T0 - 65_000),
        rxBytes: RX.charlie[step]!,
        txBytes: TX.charlie[step]!,
      }),
      peer({
        name: 'delta',
        addresses: ['100.64.0.4', 'fd5a:1f00:0:1::4'],
        publicKey: 'RGVsdGFLZXlEZWx0YUtleURlbHRhS2V5RGVsdGFLZXk=',
        endpoint: '203.0.113.9:51820',
        rttMs: 3.4,
        lastHandshake: iso(T0 - 30_000),
        rxBytes: RX.delta[step]!,
        txBytes: TX.delta[step]!,
      }),
    ],
    counters: {
      rxDatagrams: 1200 + step * 100,
      txPackets: 900 + step * 80,
      rxReplay: 0,
      handshakesRefused: 2,
    },
  };
}

/** The whole recording, in the order it arrived. */
export const recordedStream: NodeStatus[] = [0, 1, 2, 3].map(statusAt);

/**
 * The same node once NAT traversal reports its evidence (issue 5): charlie sits behind an
 * endpoint-dependent NAT and none of its candidates answered.
 */
export function withPathEvidence(s: NodeStatus): ViewStatus {
  return {
    ...s,
    self: { ...s.self, natType: 'endpoint-independent' },
    peers: s.peers.map((p) =>
      p.name !== 'charlie'
        ? p
        : {
            ...p,
            natType: 'endpoint-dependent',
            candidates: [
              { endpoint: '198.18.7.20:41641', kind: 'local', result: 'timeout', at: iso(T0 - 3000) },
              { endpoint: '198.51.100.33:61002', kind: 'reflexive', result: 'timeout', at: iso(T0 - 3000) },
            ],
            lossPct: 0,
            measuredAt: iso(T0 - 2000),
            certExpires: iso(T0 + 30 * 86_400_000),
          },
    ),
  };
}
