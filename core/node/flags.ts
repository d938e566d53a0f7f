import { canonicalEndpoint } from '../base/endpoint.js';
import { OverlayError } from '../errors.js';
import { isMemberName, MEMBER_NAME_RULE } from '../membership/certificate.js';
import { isNetworkName, NETWORK_NAME_RULE } from '../membership/network.js';
import { MAX_RELAY_RATE_MBIT } from '../tunnel/types.js';

/**
 * A --name value: the rule certificates hold names to (certificate.ts isMemberName), checked
 * before anything is written or sent, so a name the inviter would refuse costs nothing.
 */
export function parseNameFlag(text: string): string {
  if (!isMemberName(text)) {
    // JSON quoting shows control characters as escapes instead of sending them to the terminal.
    throw new OverlayError('EUSAGE', `--name ${JSON.stringify(text)} is not a member name`, {
      hint: `use ${MEMBER_NAME_RULE}`,
    });
  }
  return text;
}

/** A --network-name value: one DNS label, the middle of the zone `MEMBER.NAME.internal`. */
export function parseNetworkNameFlag(text: string): string {
  if (!isNetworkName(text)) {
    throw new OverlayError('EUSAGE', `--network-name ${JSON.stringify(text)} is not a network name`, {
      hint: `use ${NETWORK_NAME_RULE} (it becomes the DNS zone NAME.internal)`,
    });
  }
  return text;
}

/** A --listen value: a UDP port 1..65535, or `fallback` when absent. */
export function parsePort(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const port = Number(text);
  if (!/^\d{1,5}$/.test(text) || port < 1 || port > 65535) {
    throw new OverlayError('EUSAGE', `--listen ${JSON.stringify(text)} is not a UDP port`, {
      hint: 'give a number from 1 to 65535',
    });
  }
  return port;
}

/** An --endpoint value: IPv4:PORT or [IPv6]:PORT, in its canonical text form. */
export function parseEndpointFlag(text: string): string {
  const canonical = canonicalEndpoint(text);
  if (!canonical) {
    throw new OverlayError('EUSAGE', `--endpoint ${JSON.stringify(text)} is not IP:PORT`, {
      hint: 'e.g. --endpoint 203.0.113.7:51820 or --endpoint [2001:db8::7]:51820 (names are not resolved)',
    });
  }
  return canonical;
}

/**
 * A --stun value: HOST:PORT, where HOST is an IP address ([IPv6] in brackets) or a DNS name that
 * the node resolves when it starts. Returned as given once checked.
 */
export function parseStunFlag(text: string): string {
  const bad = () =>
    new OverlayError('EUSAGE', `--stun ${JSON.stringify(text)} is not HOST:PORT`, {
      hint: 'e.g. --stun stun.example.net:3478 or --stun 203.0.113.5:3478',
    });
  if (canonicalEndpoint(text)) return text;
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*\.?):(\d{1,5})$/.exec(
    text,
  );
  // All digits and dots is a mistyped IPv4 address, not a name.
  if (!m || /^[\d.]+$/.test(m[1]!) || m[1]!.length > 253 || Number(m[2]) < 1 || Number(m[2]) > 65535)
    throw bad();
  return text;
}

/** A relay rate: a whole number of Mbit/s from 1 to MAX_RELAY_RATE_MBIT. */
export function isRelayRate(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= MAX_RELAY_RATE_MBIT;
}

/** A --relay-rate value: Mbit/s each member may send through this node as its relay. */
export function parseRelayRateFlag(text: string): number {
  const mbit = /^\d{1,6}$/.test(text) ? Number(text) : Number.NaN;
  if (!isRelayRate(mbit)) {
    throw new OverlayError('EUSAGE', `--relay-rate ${JSON.stringify(text)} is not a rate in Mbit/s`, {
      hint: `give a whole number from 1 to ${MAX_RELAY_RATE_MBIT} (Mbit/s per member), or --no-relay to relay for no one`,
    });
  }
  return mbit;
}
