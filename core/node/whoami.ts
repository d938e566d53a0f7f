/** The control API's `whoami`: who this node is, as `overlay whoami` shows it from the state on disk. */
import { encodeKey } from '../base/keys.js';
import { formatSubnet } from '../membership/addressing.js';
import type { OverlayNode } from './node.js';

export interface NodeIdentity {
  name: string;
  addresses: string[];
  /** The network's IPv4 subnet. */
  network: string;
  publicKey: string;
  signingKey: string;
}

export function nodeIdentity(node: OverlayNode): NodeIdentity {
  const cert = node.self().certificate;
  return {
    name: cert.name,
    addresses: [cert.ipv4, cert.ipv6],
    network: formatSubnet(node.settings.network.ipv4Subnet),
    publicKey: encodeKey(node.identity.keys.wireguard.publicKey),
    signingKey: encodeKey(node.identity.keys.signing.publicKey),
  };
}
