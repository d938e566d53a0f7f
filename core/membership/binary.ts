/**
 * The byte codec shared by certificates, revocations and endpoint records: fixed field order,
 * big-endian integers, one-byte length prefixes for the few variable fields. A Reader checks every
 * bound and throws DecodeFailure, which each record's decode turns into a typed result — network
 * bytes never reach a caller as an exception.
 */
import { ByteReader, ByteWriter } from '../overlayWire/byteCodec.js';

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

/**
 * The membership records' view of the shared codec (core/overlayWire/byteCodec.ts): the same
 * bytes, but a Writer that refuses out-of-range values and a Reader that throws DecodeFailure
 * naming the field, so a record's decoder reads straight through and its caller gets a reason.
 */
export class Writer {
  private readonly w = new ByteWriter();

  u8(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xff)
      throw new RangeError(`u8 out of range: ${value}`);
    this.w.u8(value);
    return this;
  }

  u16(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 0xffff)
      throw new RangeError(`u16 out of range: ${value}`);
    this.w.u16(value);
    return this;
  }

  /** Wall-clock milliseconds as 8 bytes big-endian. */
  time(value: number): this {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`time out of range: ${value}`);
    this.w.u53(value);
    return this;
  }

  bytes(value: Uint8Array, length: number): this {
    if (value.length !== length) throw new RangeError(`expected ${length} bytes, got ${value.length}`);
    this.w.bytes(value);
    return this;
  }

  /** A one-byte length, then the bytes. */
  short(value: Uint8Array): this {
    return this.u8(value.length).bytes(value, value.length);
  }

  finish(): Uint8Array {
    return this.w.finish();
  }
}

export class Reader {
  private readonly r: ByteReader;

  constructor(private readonly input: Uint8Array) {
    if (!(input instanceof Uint8Array)) throw new DecodeFailure('not a byte array');
    this.r = new ByteReader(input);
  }

  get offset(): number {
    return this.input.length - this.r.remaining;
  }

  /** Throws for the field being read when the shared reader has failed. */
  private checked<T>(value: T, what: string): T {
    if (!this.r.ok) throw new DecodeFailure(`truncated in ${what}`);
    return value;
  }

  u8(what: string): number {
    return this.checked(this.r.u8(), what);
  }

  u16(what: string): number {
    return this.checked(this.r.u16(), what);
  }

  time(what: string): number {
    if (this.r.remaining < 8) throw new DecodeFailure(`truncated in ${what}`);
    const value = this.r.u53();
    if (!this.r.ok) throw new DecodeFailure(`${what} out of range`);
    return value;
  }

  bytes(length: number, what: string): Uint8Array {
    return this.checked(this.r.take(length), what);
  }

  short(what: string): Uint8Array {
    return this.bytes(this.u8(what), what);
  }

  /** The bytes consumed so far: what a signature covers when it comes last. */
  consumed(): Uint8Array {
    return this.input.slice(0, this.offset);
  }

  end(): void {
    if (this.r.remaining !== 0) throw new DecodeFailure(`${this.r.remaining} trailing bytes`);
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
