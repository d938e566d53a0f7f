import type { Endpoint } from '../wireguard/endpoint.js';

/** The data path's text form of a UDP address: "192.0.2.1:51820" or "[fd00::1]:51820". */
export function formatEndpoint(e: Endpoint): string {
  return e.address.includes(':') ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

/** Parses what formatEndpoint makes (and what the data path reports); undefined for anything else. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { address: (m[1] ?? m[2])!, port };
}
