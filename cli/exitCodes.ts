/** Exit codes are part of the interface: scripts branch on them, --help lists them. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  permission: 3,
  state: 4,
  notRunning: 5,
} as const;

export function exitCodeFor(code: string): number {
  switch (code) {
    case 'EUSAGE':
    case 'EINVITE_VERSION':
    case 'EINVITE_FORMAT':
    case 'EINVITE_TYPO':
      return EXIT.usage;
    case 'ENOTRUNNING':
      return EXIT.notRunning;
    case 'EPERM':
      return EXIT.permission;
    case 'ESTATE_DIR':
    case 'ESTORE_CORRUPT':
    case 'ESTORE_PERMS':
      return EXIT.state;
    default:
      return EXIT.failure;
  }
}

export const exitCodeHelp = `Exit codes:
  0  success
  1  failure (see the message)
  2  usage error: unknown command, flag or bad argument
  3  needs root or CAP_NET_ADMIN (run with sudo)
  4  state directory or store problem (unsafe permissions, corrupt file)
  5  the node is not running (start it with: sudo overlay up)`;
