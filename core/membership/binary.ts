/**
 * The byte codec shared by certificates, revocations and endpoint records: fixed field order,
 * big-endian integers, one-byte length prefixes for the few variable fields. A Reader checks every
 * bound and throws DecodeFailure, which each record's decode turns into a typed result — network
 * bytes never reach a caller as an exception.
 */

/** What decoding untrusted bytes yields: the value, or why it was refused. */
export type Decoded<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: string };

export class DecodeFailure extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'DecodeFailure';
  }
}

/** Runs a decoder that may throw DecodeFailure; anything else is a bug and propagates. */
export function decodeWith<T>(decode: () => T): Decoded<T> {
  try {
    return { ok: true, value: decode() };
  } catch (e) {
    if (e instanceof DecodeFailure) return { ok: false, reason: e.reason };
    throw e;
  }
}

/** Largest wall-clock ms we accept: JavaScript numbers stay exact below 2^53. */
const MAX_TIME = Number.MAX_SAFE_INTEGER;

export class Writer {
  private readonly parts: number[] = [];

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff)
      throw new RangeError(`u8 out of range: ${value}`);
    this.parts.push(value);
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff)
      throw new RangeError(`u16 out of range: ${value}`);
    this.parts.push(value >>> 8, value & 0xff);
    return this;
  }

  /** Wall-clock milliseconds as 8 bytes big-endian. */
  time(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`time out of range: ${value}`);
    const high = Math.floor(value / 2 ** 32);
    const low = value >>> 0;
    for (const word of [high, low])
      this.parts.push(word >>> 24, (word >>> 16) & 0xff, (word >>> 8) & 0xff, word & 0xff);
    return this;
  }

  bytes(value: Uint8Array, length: number): this {
    if (value.length !== length) throw new RangeError(`expected ${length} bytes, got ${value.length}`);
    for (const b of value) this.parts.push(b);
    return this;
  }

  /** A one-byte length, then the bytes. */
  short(value: Uint8Array): this {
    this.u8(value.length);
    for (const b of value) this.parts.push(b);
    return this;
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

export class Reader {
  private at = 0;

  constructor(private readonly input: Uint8Array) {
    if (!(input instanceof Uint8Array)) throw new DecodeFailure('not a byte array');
  }

  get offset(): number {
    return this.at;
  }

  private take(length: number, what: string): Uint8Array {
    if (this.at + length > this.input.length) throw new DecodeFailure(`truncated in ${what}`);
    const out = this.input.slice(this.at, this.at + length);
    this.at += length;
    return out;
  }

  u8(what: string): number {
    return this.take(1, what)[0]!;
  }

  u16(what: string): number {
    const b = this.take(2, what);
    return (b[0]! << 8) | b[1]!;
  }

  time(what: string): number {
    const b = this.take(8, what);
    const high = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
    const low = ((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0;
    const value = high * 2 ** 32 + low;
    if (value > MAX_TIME) throw new DecodeFailure(`${what} out of range`);
    return value;
  }

  bytes(length: number, what: string): Uint8Array {
    return this.take(length, what);
  }

  short(what: string): Uint8Array {
    return this.take(this.u8(what), what);
  }

  /** The bytes consumed so far: what a signature covers when it comes last. */
  consumed(): Uint8Array {
    return this.input.slice(0, this.at);
  }

  end(): void {
    if (this.at !== this.input.length)
      throw new DecodeFailure(`${this.input.length - this.at} trailing bytes`);
  }
}

/** Context string (NUL-terminated, so no context is a prefix of another) followed by the body. */
export function signedMessage(context: string, body: Uint8Array): Uint8Array {
  const ctx = new TextEncoder().encode(`${context}\0`);
  const out = new Uint8Array(ctx.length + body.length);
  out.set(ctx, 0);
  out.set(body, ctx.length);
  return out;
}

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
