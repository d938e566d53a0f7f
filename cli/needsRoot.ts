/**
 * One model for sudo (issue 15, point 2): the machine's node runs as root, keeps its state in a
 * directory root owns, and only root changes it. A user who runs a command that changes the node
 * (init, join, up, down, invite, kick) and could not carry it out is told so at once, with the
 * exact command to paste, rather than getting half-way (an identity in their own home that the
 * `sudo overlay up` after it never reads).
 *
 * Why root does not use a directory the user owns instead (the sudo user's, by SUDO_UID): a node
 * running as root opens, writes and renames files there (keys, roster, log, pid file, socket);
 * the user, or anything running as them without the sudo password, could swap any of those for
 * a link between our check and our write, and have root write where they choose.
 */
import fs from 'node:fs';
import path from 'node:path';
import { OverlayError } from '../core/errors.js';
import { effectiveUid, errnoOf, SYSTEM_STATE_DIR } from '../core/store/stateDir.js';
import { explicitStateDir, shellWord } from './pasteable.js';

/** CAP_NET_ADMIN's bit in /proc/self/status CapEff (linux/capability.h). */
const CAP_NET_ADMIN = 12n;

/**
 * Whether this process can run a node itself: root, or a user given CAP_NET_ADMIN (file
 * capabilities, a container), whose node then keeps its state in a directory of their own.
 */
export function canRunNode(): boolean {
  if (effectiveUid() === 0) return true;
  try {
    const caps = /^CapEff:\s*([0-9a-f]+)$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    return caps !== undefined && ((BigInt(`0x${caps}`) >> CAP_NET_ADMIN) & 1n) === 1n;
  } catch {
    return false;
  }
}

/**
 * Whether `dir` belongs to root and this user may not change it: the directory, or when it does
 * not exist yet the nearest ancestor that does (where it would be made).
 */
export function onlyRootMayChange(dir: string): boolean {
  if (effectiveUid() === 0) return false;
  for (let at = dir; ; at = path.dirname(at)) {
    let st: fs.Stats;
    try {
      st = fs.statSync(at);
    } catch {
      if (at === path.dirname(at)) return false;
      continue;
    }
    if (st.uid !== 0) return false;
    try {
      fs.accessSync(at, fs.constants.W_OK | fs.constants.X_OK);
      return false;
    } catch (e) {
      // Not EROFS: on a read-only file system root could not change it either.
      return errnoOf(e) === 'EACCES' || errnoOf(e) === 'EPERM';
    }
  }
}

/** `sudo overlay ARGV`, as typed (quoted for the shell), minus --state-dir: the caller's pasteable() puts it back, absolute. */
export function sudoCommand(argv: readonly string[]): string {
  const words: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir') i++;
    else if (!a.startsWith('--state-dir=')) words.push(shellWord(a));
  }
  return `sudo overlay ${words.join(' ')}`;
}

/**
 * Throws EPERM (exit 3) when this user cannot carry out `command`, a command that changes the
 * node: its state directory is root's, or it would make a node this user cannot run (init, join),
 * or start one (up). `stateDir` is the resolved directory; argv and env are the invocation's.
 */
export function requireNodeAccess(
  command: string,
  stateDir: string,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
): void {
  if (effectiveUid() === 0) return;
  const explicit = explicitStateDir(argv, env) !== undefined;
  let why: string | undefined;
  if (onlyRootMayChange(stateDir)) {
    why =
      !explicit && stateDir === SYSTEM_STATE_DIR
        ? `the machine's node keeps its state in ${stateDir}`
        : `only root may change ${stateDir}`;
  } else if (!canRunNode() && (command === 'init' || command === 'join')) {
    why = 'the node runs as root, and root keeps its state only in a directory root owns';
  } else if (!canRunNode() && command === 'up') {
    why = 'it creates the overlay interface';
  }
  if (why === undefined) return;
  throw new OverlayError('EPERM', `${command} needs root: ${why}`, { hint: `run: ${sudoCommand(argv)}` });
}
