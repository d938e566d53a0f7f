import { type ErrorCode, OverlayError } from '../errors.js';

/**
 * Failures of the control channel and the node's lifecycle. A ControlError is an OverlayError
 * whose code is one of these; `controlCode` narrows the type for callers that switch on it.
 */
export type ControlErrorCode =
  | 'ENOTRUNNING' // no node answers on the control socket
  | 'EALREADY' // a node already runs for this state directory
  | 'ETIMEOUT' // the node did not answer (or start, or stop) in time
  | 'ECLOSED' // the control connection closed before the answer came
  | 'EBADREQUEST' // a request the server cannot parse: bad JSON, missing method, over-long line
  | 'ENOMETHOD' // the node does not serve that method
  | 'EBUSY'; // the node already serves as many control clients as it allows

const controlCodes: Record<ControlErrorCode, true> = {
  ENOTRUNNING: true,
  EALREADY: true,
  ETIMEOUT: true,
  ECLOSED: true,
  EBADREQUEST: true,
  ENOMETHOD: true,
  EBUSY: true,
};

// Listed as a Record so that a code added to ErrorCode fails to compile here until it is listed:
// the client must recognise every code a node can send back.
const overlayCodes: Record<ErrorCode, true> = {
  EUSAGE: true,
  ESTATE_DIR: true,
  ESTORE_CORRUPT: true,
  ESTORE_PERMS: true,
  EPERM: true,
  ENOTUN: true,
  ETUN: true,
  EPORT_TAKEN: true,
  ENOTRUNNING: true,
  EALREADY: true,
  ETIMEOUT: true,
  ECLOSED: true,
  EBADREQUEST: true,
  ENOMETHOD: true,
  EBUSY: true,
  EINVITE_VERSION: true,
  EINVITE_FORMAT: true,
  EINVITE_TYPO: true,
  EJOIN: true,
  ENAME_TAKEN: true,
  ENOT_ADMIN: true,
  ESUBNET_FULL: true,
  ESUBNET_CLASH: true,
  EINTERNAL: true,
};

export function isControlErrorCode(code: string): code is ControlErrorCode {
  return Object.hasOwn(controlCodes, code);
}

export function isOverlayErrorCode(code: string): code is ErrorCode {
  return Object.hasOwn(overlayCodes, code);
}

export class ControlError extends OverlayError {
  readonly controlCode: ControlErrorCode;

  constructor(controlCode: ControlErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(controlCode, message, options);
    this.name = 'ControlError';
    this.controlCode = controlCode;
  }
}

export function isControlError(e: unknown, code?: ControlErrorCode): e is ControlError {
  return e instanceof ControlError && (code === undefined || e.controlCode === code);
}

/** The precise code of any error as it travels over the socket or is compared in tests. */
export function codeOf(e: unknown): string {
  if (e instanceof ControlError) return e.controlCode;
  if (e instanceof OverlayError) return e.code;
  return 'EINTERNAL';
}

export function notRunningError(socketPath: string, cause?: unknown): ControlError {
  return new ControlError('ENOTRUNNING', `overlay is not running (nothing answers on ${socketPath})`, {
    hint: 'start it with: overlay up',
    cause,
  });
}

export function alreadyRunningError(pid: number | undefined, cause?: unknown): ControlError {
  return new ControlError(
    'EALREADY',
    pid === undefined ? 'overlay is already running' : `overlay is already running (pid ${pid})`,
    { hint: 'stop it first with: overlay down', cause },
  );
}
