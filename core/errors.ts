/**
 * Every error a user can see carries a stable code and a message they can act on.
 * The CLI maps codes to exit codes; nothing here prints.
 */
export type ErrorCode =
  | 'EUSAGE' // wrong command, flag or argument
  | 'ESTATE_DIR' // state directory missing, unusable or unsafe
  | 'ESTORE_CORRUPT' // a state file that does not parse or validate
  | 'ESTORE_PERMS' // a secret readable by others
  | 'EPERM' // not root / no CAP_NET_ADMIN
  | 'ENOTUN' // no /dev/net/tun
  | 'ETUN' // any other TUN failure (name taken, bad address, ...)
  | 'EINTERNAL';

export class OverlayError extends Error {
  readonly code: ErrorCode;
  /** A short instruction that fixes the problem, shown after the message. */
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'OverlayError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isOverlayError(e: unknown): e is OverlayError {
  return e instanceof OverlayError;
}

/** What the CLI shows for an error meant for users: a code, a message and maybe a fix. */
export interface UserError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string | undefined;
}

/**
 * The user-facing view of an error: an OverlayError, or an error of a core module with the same
 * shape (code + hint, like membership's and the control API's). Anything else is a bug, shown
 * as unexpected.
 */
export function userErrorOf(e: unknown): UserError | undefined {
  if (e instanceof OverlayError) return e;
  if (e instanceof Error && 'code' in e && typeof e.code === 'string' && 'hint' in e) {
    return { code: e.code, message: e.message, hint: typeof e.hint === 'string' ? e.hint : undefined };
  }
  return undefined;
}
