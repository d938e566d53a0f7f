/** Peer ids are WireGuard public keys in base64, as the node and gossip name them; messages carry the raw key. */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key).toString('base64');
}

export function idKey(id: string): Uint8Array {
  return new Uint8Array(Buffer.from(id, 'base64'));
}
