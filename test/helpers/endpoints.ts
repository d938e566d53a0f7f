/** Endpoints for tests, written as text: `ep('192.0.2.1:51820')`. */
import { type Endpoint, formatEndpoint } from '../../core/base/endpoint.js';
import { parseCandidate } from '../../core/discovery/endpointClass.js';

/** `text` as a canonical endpoint; throws on anything else (a typo in a test, not data under test). */
export function ep(text: string): Endpoint {
  const e = parseCandidate(text);
  if (e === undefined) throw new Error(`not a canonical endpoint: ${text}`);
  return e;
}

export function eps(texts: readonly string[]): Endpoint[] {
  return texts.map(ep);
}

/** The text of an endpoint (or of each in a list), to compare with what a test wrote. */
export function epText(e: Endpoint): string;
export function epText(e: Endpoint | undefined): string | undefined;
export function epText(e: Endpoint | undefined): string | undefined {
  return e === undefined ? undefined : formatEndpoint(e);
}

export function epTexts(list: readonly Endpoint[]): string[] {
  return list.map(formatEndpoint);
}
