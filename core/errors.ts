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
  | 'ETUN' // any other failure to create or configure the interface, or to start the data path
  | 'EPORT_TAKEN' // the node's UDP port is bound by another program (or node)
  // the running node and its control socket
  | 'ENOTRUNNING' // no node answers on the control socket
  | 'EALREADY' // a node already runs for this state directory
  | 'ETIMEOUT' // the node did not answer, start or stop in time
  | 'ECLOSED' // the control connection closed before the answer came
  | 'EBADREQUEST' // a control request the node cannot parse
  | 'ENOMETHOD' // the node does not serve that control method
  | 'EBUSY' // busy: the interface name is held by another link, or the control socket is full
  // membership
  | 'EINVITE_VERSION' // not an overlay invite code, or one of another format version
  | 'EINVITE_FORMAT' // characters outside the code's alphabet, or far too short or long
  | 'EINVITE_TYPO' // the checksum does not match: the code was mistyped
  | 'EJOIN' // the inviter refused the join, or could not be reached
  | 'ENAME_TAKEN' // another member already has this name
  | 'ENOT_ADMIN' // only an admin may do this
  | 'ESUBNET_FULL' // no free overlay address left
  | 'ESUBNET_CLASH' // a network's range overlaps another network or a route of this host
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
