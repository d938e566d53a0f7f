import path from 'node:path';
import { type CommandContext, flagString } from './command.js';

/**
 * Hints and "Next:" lines name commands the user will paste as printed. Two things make a bare
 * `overlay up` wrong to paste: a state directory that is not the default (the command would act
 * on another node, and sudo drops OVERLAY_HOME), and a command that needs root run by a user.
 */

/** Commands that act on a node's state directory: a pasted one needs the same --state-dir. */
const USES_STATE = [
  'up',
  'down',
  'init',
  'join',
  'invite',
  'kick',
  'leave',
  'status',
  'peers',
  'ping',
  'whoami',
];
/** Commands that need root: they change the node, which runs as root (needsRoot.ts), or make namespaces. */
const NEEDS_ROOT = ['up', 'down', 'init', 'join', 'invite', 'kick', 'leave', 'demo'];

export interface PasteContext {
  /** The state directory given by --state-dir or OVERLAY_HOME; undefined for the default. */
  stateDir: string | undefined;
  root: boolean;
}

/** The state directory this invocation names explicitly, from its arguments and environment. */
export function explicitStateDir(argv: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--state-dir' && i + 1 < argv.length) return argv[i + 1];
    if (a.startsWith('--state-dir=')) return a.slice('--state-dir='.length);
  }
  const home = env['OVERLAY_HOME'];
  return home === undefined || home === '' ? undefined : home;
}

export function pasteContext(argv: readonly string[], env: NodeJS.ProcessEnv): PasteContext {
  return pasteContextFor(explicitStateDir(argv, env), env);
}

/** The same for a running command: its --state-dir flag, else OVERLAY_HOME. */
export function pasteContextOf(ctx: CommandContext): PasteContext {
  return pasteContextFor(flagString(ctx, 'state-dir') ?? explicitStateDir([], ctx.env), ctx.env);
}

/** Under sudo the user pastes the next command into their own shell: it needs its sudo too. */
function pasteContextFor(dir: string | undefined, env: NodeJS.ProcessEnv): PasteContext {
  return {
    stateDir: dir === undefined ? undefined : path.resolve(dir),
    root: process.getuid?.() === 0 && env['SUDO_UID'] === undefined,
  };
}

/** Single-quotes a word for a POSIX shell when it needs it. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `text` with every `overlay COMMAND` in it made pasteable: `sudo` and `--state-dir` as needed. */
export function pasteable(text: string, ctx: PasteContext): string {
  return text.replace(/(sudo )?\boverlay ([a-z]+)\b/g, (whole, sudo: string | undefined, cmd: string) => {
    const prefix = sudo ?? (!ctx.root && NEEDS_ROOT.includes(cmd) ? 'sudo ' : '');
    const dir =
      ctx.stateDir !== undefined && USES_STATE.includes(cmd) ? ` --state-dir ${shellWord(ctx.stateDir)}` : '';
    return whole === `${sudo ?? ''}overlay ${cmd}` ? `${prefix}overlay ${cmd}${dir}` : whole;
  });
}
