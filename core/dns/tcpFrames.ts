/**
 * DNS over TCP's framing (RFC 1035 §4.2.2, RFC 7766 §8): each message is preceded by its length
 * as two bytes, big-endian; a client may send several in a row (pipelining, RFC 7766 §6.2.1). I/O
 * free: bytes in as they arrive, whole messages out. What it holds is bounded by one message
 * (65,535 bytes and its length) at a time.
 */

/** The smallest DNS message: a 12-byte header. Anything shorter cannot be a query. */
const HEADER_BYTES = 12;

export class TcpFrames {
  private held: Uint8Array = new Uint8Array(0);

  /** The whole messages `chunk` completes, in order; 'bad' for a length no query has. */
  push(chunk: Uint8Array): Uint8Array[] | 'bad' {
    let buf = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk]);
    const out: Uint8Array[] = [];
    while (buf.length >= 2) {
      const length = (buf[0]! << 8) | buf[1]!;
      if (length < HEADER_BYTES) return 'bad';
      if (buf.length < 2 + length) break;
      out.push(buf.slice(2, 2 + length));
      buf = buf.subarray(2 + length);
    }
    // A copy, so the chunk Node gave (and its pooled memory) is not kept alive by a fragment.
    this.held = buf.slice();
    return out;
  }
}

/** A message with its two-byte length in front, for sending. */
export function framed(message: Uint8Array): Uint8Array {
  const out = new Uint8Array(2 + message.length);
  out[0] = message.length >> 8;
  out[1] = message.length & 0xff;
  out.set(message, 2);
  return out;
}
