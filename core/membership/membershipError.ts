import { OverlayError } from '../errors.js';

/**
 * Errors of the membership model that a user can see: OverlayErrors whose codes are the
 * membership ones (core/errors.ts lists them), so the CLI prints and maps them like any other.
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

export class MembershipError extends OverlayError {
  declare readonly code: MembershipErrorCode;

  constructor(code: MembershipErrorCode, message: string, options?: { hint?: string; cause?: unknown }) {
    super(code, message, options);
    this.name = 'MembershipError';
  }
}

export function isMembershipError(e: unknown): e is MembershipError {
  return e instanceof MembershipError;
}
