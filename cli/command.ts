import type { Writable } from 'node:stream';

/** One flag of a command, as parseArgs takes it plus what --help says about it. */
export interface FlagSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  /** placeholder shown in help, e.g. DIR */
  arg?: string;
  description: string;
}

export interface CommandContext {
  /** positional arguments after the command name */
  args: string[];
  /** parsed flags, global ones included */
  flags: Record<string, string | boolean | (string | boolean)[] | undefined>;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** The command's name and the words after it as typed: a "which network?" hint repeats them. */
  command?: string;
  argv?: readonly string[];
}

/** A subcommand: one module in cli/commands/, one job. */
export interface Command {
  name: string;
  summary: string;
  /** the part after `overlay NAME`, e.g. "[--json]" */
  usage: string;
  flags: Record<string, FlagSpec>;
  /** how many positional arguments it takes */
  positionals: { min: number; max: number };
  /** What shell completion offers for the first argument: fixed words, or the members' names. */
  completes?: { words: readonly string[] } | 'members';
  /**
   * It changes the node (init, join, up, down, invite, kick): a user who could not carry it out
   * (the state directory is root's, or the node would be one they cannot run) is refused before it
   * starts, with the sudo command to paste (needsRoot.ts).
   */
  changesNode?: true;
  /**
   * Checks the arguments alone, before anything else (the root check included): a typo is told
   * as a usage error first, not after the user has been sent to sudo.
   */
  validate?(ctx: CommandContext): void;
  run(ctx: CommandContext): Promise<void> | void;
}

/** Flags every command takes. */
export const globalFlags: Record<string, FlagSpec> = {
  'state-dir': {
    type: 'string',
    arg: 'DIR',
    description: 'where this node keeps its state (default: $OVERLAY_HOME, else /var/lib/overlay)',
  },
  network: {
    type: 'string',
    arg: 'NAME',
    description: "which of this host's networks (default: $OVERLAY_NETWORK, else the only one)",
  },
  json: { type: 'boolean', description: 'print machine-readable JSON' },
  verbose: { type: 'boolean', short: 'v', description: 'on error, show the chain of causes' },
  help: { type: 'boolean', short: 'h', description: 'show help for this command' },
};

export function flagString(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.flags[name];
  return typeof v === 'string' ? v : undefined;
}

export function flagBool(ctx: CommandContext, name: string): boolean {
  return ctx.flags[name] === true;
}
