/**
 * The little of the DNS wire format (RFC 1035 §4.1) the resolver reads itself, before any full
 * decode: the header and the one question. This is the cheap first look that decides whether a
 * datagram deserves more work, and the question's raw bytes are what a forwarded answer must echo.
 *
 *   0  ID                 2  QR|Opcode|AA|TC|RD|RA|Z|AD|CD|RCODE
 *   4  QDCOUNT            6  ANCOUNT      8  NSCOUNT      10  ARCOUNT
 *   12 QNAME (labels, no compression in a query's question)  QTYPE(2)  QCLASS(2)
 */

export const HEADER_BYTES = 12;
/** RFC 1035 §2.3.4: a name is at most 255 bytes on the wire, a label at most 63. */
const MAX_NAME_BYTES = 255;
const MAX_LABEL_BYTES = 63;

export const QR = 0x8000;
export const AA = 0x0400;
export const TC = 0x0200;
export const RD = 0x0100;
export const RA = 0x0080;
const OPCODE_MASK = 0x7800;

export const RCODE = { noError: 0, formErr: 1, servFail: 2, nxDomain: 3, notImp: 4, refused: 5 } as const;

export const TYPE = { A: 1, NS: 2, SOA: 6, PTR: 12, AAAA: 28, OPT: 41, ANY: 255 } as const;
export const CLASS_IN = 1;
export const CLASS_ANY = 255;

export interface Question {
  readonly id: number;
  /** The header's second 16 bits. */
  readonly flags: number;
  readonly opcode: number;
  /** Labels, ASCII letters lowered, root last and not included: `['b', 'home', 'internal']`. */
  readonly labels: readonly string[];
  /** Whether every label is letters, digits, `-` and `_` only: only such names are answered here. */
  readonly plain: boolean;
  readonly type: number;
  readonly qclass: number;
  /** Offset just past the question: bytes 12..end are the question as sent. */
  readonly end: number;
  readonly ancount: number;
  readonly nscount: number;
  readonly arcount: number;
}

/** The header and question of a message, or why it is not a message this resolver reads. */
export function readQuestion(bytes: Uint8Array): Question | string {
  if (bytes.length < HEADER_BYTES) return 'short';
  const u16 = (at: number) => (bytes[at]! << 8) | bytes[at + 1]!;
  if (u16(4) !== 1) return 'question-count';
  const labels: string[] = [];
  let plain = true;
  let at = HEADER_BYTES;
  for (;;) {
    if (at >= bytes.length) return 'truncated-name';
    const len = bytes[at]!;
    at += 1;
    if (len === 0) break;
    // 0xC0: a compression pointer; 0x40/0x80: reserved label types (RFC 6891 §5). A query's
    // question has nothing before it to point at.
    if (len > MAX_LABEL_BYTES) return 'label-type';
    if (at + len > bytes.length) return 'truncated-name';
    let label = '';
    for (let i = at; i < at + len; i++) {
      const c = bytes[i]!;
      if (!isPlainByte(c)) plain = false;
      label += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 0x20 : c);
    }
    labels.push(label);
    at += len;
    if (at - HEADER_BYTES > MAX_NAME_BYTES) return 'long-name';
  }
  if (at + 4 > bytes.length) return 'truncated-question';
  const flags = u16(2);
  return {
    id: u16(0),
    flags,
    opcode: (flags & OPCODE_MASK) >> 11,
    labels,
    plain,
    type: u16(at),
    qclass: u16(at + 2),
    end: at + 4,
    ancount: u16(6),
    nscount: u16(8),
    arcount: u16(10),
  };
}

function isPlainByte(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d ||
    c === 0x5f
  );
}

/**
 * A reply that carries no records: the query's ID, opcode and RD, our RA (and AA when the name is
 * ours), `rcode`, and the question exactly as asked.
 */
export function bareReply(query: Uint8Array, q: Question, rcode: number, authoritative: boolean): Uint8Array {
  const out = new Uint8Array(q.end);
  out.set(query.subarray(0, q.end));
  const flags = QR | (q.flags & (OPCODE_MASK | RD)) | RA | (authoritative ? AA : 0) | rcode;
  out[2] = flags >> 8;
  out[3] = flags & 0xff;
  // QDCOUNT stays 1; no answers, authorities or additionals.
  out.fill(0, 6, HEADER_BYTES);
  return out;
}

/**
 * Whether `answer` answers `query` (RFC 5452 §3: same ID, same question) — what a forwarded
 * answer must show before it is relayed to the client, so an off-path guess must hit the ID and the
 * forward's own random port at once.
 */
export function answers(answer: Uint8Array, query: Uint8Array, q: Question): boolean {
  if (answer.length < q.end) return false;
  if (answer[0] !== query[0] || answer[1] !== query[1]) return false;
  if ((answer[2]! & 0x80) === 0) return false;
  if (answer[4] !== 0 || answer[5] !== 1) return false;
  for (let i = HEADER_BYTES; i < q.end; i++) if (answer[i] !== query[i]) return false;
  return true;
}
