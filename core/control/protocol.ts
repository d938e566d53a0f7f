import path from 'node:path';
import { OverlayError } from '../errors.js';
import { ControlError, codeOf, isControlErrorCode, isOverlayErrorCode } from './controlError.js';

/**
 * The control protocol: newline-delimited JSON over a Unix socket.
 *
 *   request   {"id": 1, "method": "status", "params": {...}}
 *   response  {"id": 1, "result": ...}  or  {"id": 1, "error": {"code", "message", "hint"?}}
 *   stream    {"id": 2, "method": "watch"} -> {"id": 2, "event": ...} ... until the client closes,
 *             or a final {"id": 2, "result": null} when the node ends the stream itself.
 *
 * A request the server cannot attribute to an id (bad JSON, over-long line) is answered with
 * "id": null.
 */

export const CONTROL_SOCKET_NAME = 'control.sock';

/** A request line longer than this is refused: the control API carries small commands. */
export const MAX_REQUEST_BYTES = 64 * 1024;

/** A response can be big (status of a large network) but not unbounded. */
export const MAX_RESPONSE_BYTES = 16 * 1024 * 1024;

/** sockaddr_un.sun_path is 108 bytes on Linux, including the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107;

export type RequestId = number | string;
export type Params = Record<string, unknown>;

export interface WireError {
  code: string;
  message: string;
  hint?: string;
}

export interface Request {
  id: RequestId;
  method: string;
  params: Params;
}

export type Response =
  | { id: RequestId | null; result: unknown }
  | { id: RequestId | null; error: WireError }
  | { id: RequestId; event: unknown };

export function controlSocketPath(stateDir: string): string {
  return path.join(stateDir, CONTROL_SOCKET_NAME);
}

export function encodeLine(message: unknown): string {
  return `${JSON.stringify(message)}\n`;
}

/** Keeps code, message and hint of an OverlayError; anything else becomes EINTERNAL with its message. */
export function errorToWire(e: unknown): WireError {
  if (e instanceof OverlayError) {
    return { code: codeOf(e), message: e.message, ...(e.hint === undefined ? {} : { hint: e.hint }) };
  }
  return { code: 'EINTERNAL', message: e instanceof Error ? e.message : String(e) };
}

/** The error the node sent, as the same typed error on this side of the socket. */
export function errorFromWire(w: WireError): OverlayError {
  const options = w.hint === undefined ? {} : { hint: w.hint };
  if (isControlErrorCode(w.code)) return new ControlError(w.code, w.message, options);
  if (isOverlayErrorCode(w.code)) return new OverlayError(w.code, w.message, options);
  // A newer node may send a code this build does not know: keep its words, lose only the code.
  return new OverlayError('EINTERNAL', `${w.message} (${w.code})`, options);
}

export function parseWireError(v: unknown): WireError | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['code'] !== 'string' || typeof o['message'] !== 'string') return undefined;
  return {
    code: o['code'],
    message: o['message'],
    ...(typeof o['hint'] === 'string' ? { hint: o['hint'] } : {}),
  };
}

/** Validates one request line; `problem` says why it is not a request. */
export function parseRequest(line: string): Request | { id: RequestId | null; problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return { id: null, problem: 'request is not valid JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    return { id: null, problem: 'request must be a JSON object' };
  }
  const o = v as Record<string, unknown>;
  const id = o['id'];
  if (!((typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string')) {
    return { id: null, problem: 'request needs an "id" (number or string)' };
  }
  if (typeof o['method'] !== 'string' || o['method'] === '') {
    return { id, problem: 'request needs a "method" (string)' };
  }
  const params = o['params'];
  if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) {
    return { id, problem: '"params" must be a JSON object' };
  }
  return { id, method: o['method'], params: (params as Params | undefined) ?? {} };
}

/**
 * Splits a byte stream into lines without ever holding more than `maxBytes` of one line: a peer
 * that never sends a newline cannot make us buffer without bound.
 */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;

  constructor(private readonly maxBytes: number) {}

  /** The complete lines in this chunk (without "\n"), or 'overflow' once a line is too long. */
  push(chunk: Buffer): string[] | 'overflow' {
    const lines: string[] = [];
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      const piece = chunk.subarray(start, nl);
      if (this.size + piece.length > this.maxBytes) return 'overflow';
      this.parts.push(piece);
      lines.push(Buffer.concat(this.parts).toString('utf8'));
      this.parts = [];
      this.size = 0;
      start = nl + 1;
    }
    const rest = chunk.subarray(start);
    if (this.size + rest.length > this.maxBytes) return 'overflow';
    if (rest.length > 0) {
      // Copy: the socket may reuse the chunk's memory.
      this.parts.push(Buffer.from(rest));
      this.size += rest.length;
    }
    return lines;
  }
}
