import type { ErrorCode } from '../core/errors.js';

/** Exit codes are part of the interface: scripts branch on them, --help lists them. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  permission: 3,
  state: 4,
  notRunning: 5,
  noTun: 6,
  tun: 7,
  busy: 8,
  portTaken: 9,
} as const;

type ExitCode = (typeof EXIT)[keyof typeof EXIT];

// A Record, so that a code added to ErrorCode does not compile until it is given an exit code.
const exitCodes: Record<ErrorCode, ExitCode> = {
  EUSAGE: EXIT.usage,
  EINVITE_VERSION: EXIT.usage,
  EINVITE_FORMAT: EXIT.usage,
  EINVITE_TYPO: EXIT.usage,
  EPERM: EXIT.permission,
  ESTATE_DIR: EXIT.state,
  ESTORE_CORRUPT: EXIT.state,
  ESTORE_PERMS: EXIT.state,
  ENOTRUNNING: EXIT.notRunning,
  ENOTUN: EXIT.noTun,
  ETUN: EXIT.tun,
  EBUSY: EXIT.busy,
  EPORT_TAKEN: EXIT.portTaken,
  EALREADY: EXIT.failure,
  ETIMEOUT: EXIT.failure,
  ECLOSED: EXIT.failure,
  EBADREQUEST: EXIT.failure,
  ENOMETHOD: EXIT.failure,
  EJOIN: EXIT.failure,
  ENAME_TAKEN: EXIT.failure,
  ENOT_ADMIN: EXIT.failure,
  ESUBNET_FULL: EXIT.failure,
  ESUBNET_CLASH: EXIT.failure,
  EINTERNAL: EXIT.failure,
};

export function exitCodeFor(code: string): number {
  return Object.hasOwn(exitCodes, code) ? exitCodes[code as ErrorCode] : EXIT.failure;
}

// A Record over the codes, so that a code added to EXIT does not compile until --help says what it means.
const meaning: Record<ExitCode, string> = {
  0: 'success',
  1: 'failure (see the message)',
  2: 'usage error: unknown command, flag or bad argument',
  3: 'needs root or CAP_NET_ADMIN (run with sudo)',
  4: 'state directory or store problem (unsafe permissions, owner or link, corrupt file)',
  5: 'the node is not running (start it with: sudo overlay up)',
  6: 'this system has no TUN device (/dev/net/tun)',
  7: 'the overlay interface or data path could not be set up',
  8: 'busy: the interface name is taken, or the node serves all the control clients it allows',
  9: "the node's UDP port is taken by another program",
};

export const exitCodeHelp = [
  'Exit codes:',
  ...Object.entries(meaning).map(([code, text]) => `  ${code}  ${text}`),
].join('\n');
