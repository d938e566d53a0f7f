/**
 * Byte helpers every layer uses: comparison, hex for map keys and logs, base64 for text at the
 * edges (JSON files, the CLI, WireGuard configuration). One home, so there is one of each.
 */

/** Equal length and contents, in time that depends only on the length (keys, MACs, epochs). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** Byte-wise order, the tie-breaker wherever "first" must be the same on every node. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Lowercase hex of bytes (map keys for ids and transaction ids), without copying them first. */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('hex');
}

/** Standard base64 (RFC 4648 §4) with padding. */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64');
}

/**
 * The bytes of standard base64 text, or undefined unless `text` is exactly what toBase64 makes of
 * them: Buffer's decoder skips junk and stops at the first '=', so one value could hide behind
 * many spellings.
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (typeof text !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = new Uint8Array(Buffer.from(text, 'base64'));
  return toBase64(bytes) === text ? bytes : undefined;
}
