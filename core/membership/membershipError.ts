/**
 * Errors of the membership model that a user can see. The codes are meant for core/errors.ts's
 * ErrorCode; until they are added there this class carries them with the same shape as
 * OverlayError (code, message, hint), so the CLI can map both the same way.
 */
export type MembershipErrorCode =
  | 'EINVITE_VERSION' // not an overlay invite code, or one from another format version
  | 'EINVITE_FORMAT' // characters outside the code's alphabet, or far too short/long
  | 'EINVITE_TYPO' // the checksum does not match: the code was mistyped
  | 'ENAME_TAKEN' // another valid member already has this name
  | 'ENOT_ADMIN' // the signing key may not issue certificates in this network
  | 'ESUBNET_FULL' // no free overlay address left
  | 'EUSAGE' // a bad argument (subnet, name, uses, ...)
  | 'ESTORE_CORRUPT' // a persisted roster or invite book that does not validate
  | 'EINTERNAL';

export class MembershipError extends Error {
  readonly code: MembershipErrorCode;
  readonly hint: string | undefined;

  constructor(code: MembershipErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MembershipError';
    this.code = code;
    this.hint = options?.hint;
  }
}

export function isMembershipError(e: unknown): e is MembershipError {
  return e instanceof MembershipError;
}
