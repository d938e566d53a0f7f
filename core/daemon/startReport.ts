import fs from 'node:fs';
import type { Readable } from 'node:stream';
import { errorToWire, parseWireError, type WireError } from '../control/protocol.js';

/**
 * How a node started by `overlay up` tells it that it runs, or why it could not start: one JSON
 * line on a pipe `up` hands it as an extra descriptor, named in the environment.
 *
 *   {"ready": PID}                                  the control socket answers
 *   {"error": {"code", "message", "hint"?}}         start failed; the code is the CLI's to map
 *
 * Errors cross the process boundary as codes (control/protocol.ts's wire form), never as log text
 * to be parsed back. A node that dies before it can say anything is reported by its exit status.
 */
export const START_REPORT_FD_ENV = 'OVERLAY_START_REPORT_FD';

/** The descriptor the report pipe gets in the child: the first after stdin, stdout, stderr. */
export const START_REPORT_FD = 3;

const MAX_REPORT_BYTES = 64 * 1024;

export type StartReport = { ready: number } | { error: WireError };

export interface StartReporter {
  ready(): void;
  failed(e: unknown): void;
}

let reporter: StartReporter | undefined;

/**
 * This process's reporter: writes to the descriptor the environment names, once (the first report
 * wins, later ones are ignored), then closes it. A no-op when the node was not started by `up`.
 */
export function startReporter(env: NodeJS.ProcessEnv = process.env): StartReporter {
  if (reporter) return reporter;
  const named = env[START_REPORT_FD_ENV];
  // Not for the processes this node starts: the descriptor is this process's to use and close.
  delete env[START_REPORT_FD_ENV];
  const fd = named !== undefined && /^\d{1,4}$/.test(named) && Number(named) > 2 ? Number(named) : undefined;
  let open = fd !== undefined;
  const send = (report: StartReport) => {
    if (!open || fd === undefined) return;
    open = false;
    try {
      fs.writeSync(fd, `${JSON.stringify(report)}\n`);
    } catch {
      // `up` was interrupted and is gone (EPIPE): the node runs on, or exits, regardless.
    }
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
  };
  reporter = {
    ready: () => send({ ready: process.pid }),
    failed: (e) => send({ error: errorToWire(e) }),
  };
  return reporter;
}

/** Reads the child's report from its end of the pipe; undefined when it closed without one. */
export function readStartReport(stream: Readable): Promise<StartReport | undefined> {
  return new Promise((resolve) => {
    let text = '';
    const done = (report: StartReport | undefined) => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onEnd);
      stream.destroy();
      resolve(report);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl !== -1) done(parseStartReport(text.slice(0, nl)));
      else if (text.length > MAX_REPORT_BYTES) done(undefined);
    };
    const onEnd = () => done(undefined);
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onEnd);
  });
}

export function parseStartReport(line: string): StartReport | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o['ready'] === 'number' && Number.isSafeInteger(o['ready'])) return { ready: o['ready'] };
  const error = parseWireError(o['error']);
  return error ? { error } : undefined;
}
