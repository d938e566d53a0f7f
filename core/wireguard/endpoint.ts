/** A UDP address a peer is reached at or a datagram came from. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

export function sameEndpoint(a: Endpoint | undefined, b: Endpoint | undefined): boolean {
  return a !== undefined && b !== undefined && a.address === b.address && a.port === b.port;
}

/**
 * whitepaper §5.4.7: Am, the source address and port a cookie is bound to. Only this responder reads
 * it back, so any injective encoding works: four bytes for IPv4, the address text otherwise, then the
 * port big-endian.
 */
export function endpointBytes(e: Endpoint): Uint8Array {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(e.address);
  const addr = v4
    ? Uint8Array.from(v4.slice(1).map(Number))
    : new TextEncoder().encode(e.address.toLowerCase());
  const out = new Uint8Array(addr.length + 2);
  out.set(addr, 0);
  out[addr.length] = (e.port >>> 8) & 0xff;
  out[addr.length + 1] = e.port & 0xff;
  return out;
}
