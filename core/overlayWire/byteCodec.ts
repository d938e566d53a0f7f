/**
 * Bounds-checked reading and writing of the compact binary encodings used by overlay's messages.
 * The reader never throws: any read past the end (or of an invalid value) marks it failed and
 * returns a harmless placeholder, so a decoder checks `ok` once at the end instead of at every step.
 */

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

export class ByteReader {
  private at = 0;
  private failed = false;

  constructor(private readonly bytes: Uint8Array) {}

  /** True while every read so far was in bounds and valid. */
  get ok(): boolean {
    return !this.failed;
  }

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  fail(): void {
    this.failed = true;
  }

  u8(): number {
    if (this.failed || this.remaining < 1) return this.failAnd(0);
    return this.bytes[this.at++]!;
  }

  u16(): number {
    const hi = this.u8();
    return (hi << 8) | this.u8();
  }

  u32(): number {
    const hi = this.u16();
    return hi * 0x10000 + this.u16();
  }

  /** An unsigned 64-bit integer that must fit a JS number exactly (≤ 2^53 − 1). */
  u53(): number {
    const hi = this.u32();
    const lo = this.u32();
    if (hi > 0x1fffff) return this.failAnd(0);
    return hi * 0x1_0000_0000 + lo;
  }

  /** A copy, so the caller may keep it after the datagram buffer is reused. */
  take(length: number): Uint8Array {
    if (this.failed || length < 0 || this.remaining < length) return this.failAnd(new Uint8Array(0));
    const out = this.bytes.slice(this.at, this.at + length);
    this.at += length;
    return out;
  }

  rest(): Uint8Array {
    return this.take(this.remaining);
  }

  /** A u8-length-prefixed string; `ascii` also refuses control and non-ASCII characters. */
  shortString(maxBytes: number, charset: 'ascii' | 'utf8'): string {
    const length = this.u8();
    if (length > maxBytes) return this.failAnd('');
    const raw = this.take(length);
    if (this.failed) return '';
    if (charset === 'ascii') {
      for (const b of raw) if (b < 0x21 || b > 0x7e) return this.failAnd('');
    }
    try {
      return utf8Decoder.decode(raw);
    } catch {
      return this.failAnd('');
    }
  }

  /** True when the whole input was consumed without a failure: trailing junk is a failure too. */
  get done(): boolean {
    return !this.failed && this.remaining === 0;
  }

  private failAnd<T>(placeholder: T): T {
    this.failed = true;
    return placeholder;
  }
}

export class ByteWriter {
  private buffer: Uint8Array;
  private at = 0;

  constructor(initialSize = 256) {
    this.buffer = new Uint8Array(initialSize);
  }

  get length(): number {
    return this.at;
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.at++] = value & 0xff;
    return this;
  }

  u16(value: number): this {
    return this.u8(value >>> 8).u8(value);
  }

  u32(value: number): this {
    return this.u16(Math.floor(value / 0x10000) & 0xffff).u16(value & 0xffff);
  }

  u53(value: number): this {
    return this.u32(Math.floor(value / 0x1_0000_0000)).u32(value >>> 0);
  }

  bytes(value: Uint8Array): this {
    this.reserve(value.length);
    this.buffer.set(value, this.at);
    this.at += value.length;
    return this;
  }

  shortString(value: string): this {
    const raw = utf8Encoder.encode(value);
    return this.u8(raw.length).bytes(raw);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.at);
  }

  private reserve(extra: number): void {
    if (this.at + extra <= this.buffer.length) return;
    const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.at + extra));
    grown.set(this.buffer.subarray(0, this.at));
    this.buffer = grown;
  }
}

export function utf8Length(value: string): number {
  return utf8Encoder.encode(value).length;
}

export function isAscii(value: string, maxLength: number): boolean {
  return value.length <= maxLength && /^[\x21-\x7e]*$/.test(value);
}
