/**
 * Crockford's base32 (https://www.crockford.com/base32.html): digits and letters without I, L, O
 * and U, so a code read aloud or off a screen has no look-alikes. Decoding forgives what people do:
 * any case, O for 0, I and L for 1. Bits are taken big-endian, 5 per symbol; the last symbol is
 * padded with zero bits, and decoding refuses non-zero padding so each byte string has one spelling.
 */

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const VALUES = new Map<string, number>();
for (let i = 0; i < ALPHABET.length; i++) {
  VALUES.set(ALPHABET[i]!, i);
  VALUES.set(ALPHABET[i]!.toUpperCase(), i);
}
for (const [alias, value] of [
  ['o', 0],
  ['O', 0],
  ['i', 1],
  ['I', 1],
  ['l', 1],
  ['L', 1],
] as const) {
  VALUES.set(alias, value);
}

export const BASE32_ALPHABET = ALPHABET;

export function base32Length(byteLength: number): number {
  return Math.ceil((byteLength * 8) / 5);
}

/** Lowercase symbols, no separators. */
export function encodeBase32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const b of bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** The first character that is not a base32 symbol (nor an alias), with its index; undefined if none. */
export function firstNonBase32(text: string): { char: string; index: number } | undefined {
  for (let i = 0; i < text.length; i++) if (!VALUES.has(text[i]!)) return { char: text[i]!, index: i };
  return undefined;
}

/**
 * Decodes symbols only (strip separators first). Undefined if a symbol is unknown, the length is
 * not one that encodeBase32 makes, or the padding bits are not zero.
 */
export function decodeBase32(text: string): Uint8Array | undefined {
  const byteLength = Math.floor((text.length * 5) / 8);
  if (base32Length(byteLength) !== text.length) return undefined;
  const out = new Uint8Array(byteLength);
  let buffer = 0;
  let bits = 0;
  let at = 0;
  for (const ch of text) {
    const v = VALUES.get(ch);
    if (v === undefined) return undefined;
    buffer = (buffer << 5) | v;
    bits += 5;
    if (bits >= 8) {
      out[at++] = (buffer >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
    buffer &= (1 << bits) - 1;
  }
  if (buffer !== 0) return undefined;
  return out;
}
