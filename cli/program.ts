import fs from 'node:fs';
import type { Writable } from 'node:stream';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { OverlayError, userErrorOf } from '../core/errors.js';
import { resolveStateDir } from '../core/store/stateDir.js';
import { type Command, type FlagSpec, globalFlags } from './command.js';
import { commandNames, loadCommand, loadCommands } from './commands/index.js';
import { didYouMean } from './didYouMean.js';
import { EXIT, exitCodeFor } from './exitCodes.js';
import { commandHelp, programHelp } from './help.js';
import { jsonLine } from './jsonOutput.js';
import { requireNodeAccess } from './needsRoot.js';
import { type PasteContext, pasteable, pasteContext } from './pasteable.js';

export interface ProgramIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** Runs one invocation of the CLI and returns its exit code; never calls process.exit. */
export async function runProgram(argv: string[], io: ProgramIo): Promise<number> {
  const verbose = argv.includes('--verbose') || argv.includes('-v');
  try {
    return await dispatch(argv, io);
  } catch (e) {
    const user = userErrorOf(e);
    const exitCode = user ? exitCodeFor(user.code) : EXIT.failure;
    // A script that asked for JSON gets its errors as JSON too, on stderr so stdout stays data.
    const paste = pasteContext(argv, io.env);
    io.stderr.write(argv.includes('--json') ? jsonError(e, exitCode, paste) : formatError(e, verbose, paste));
    return exitCode;
  }
}

/** {"error": {"code", "message", "hint"?, "exitCode"}} on one line. */
export function jsonError(e: unknown, exitCode: number, paste?: PasteContext): string {
  const user = userErrorOf(e);
  return jsonLine({
    error: {
      code: user?.code ?? 'EINTERNAL',
      message: user?.message ?? `unexpected error: ${e instanceof Error ? e.message : String(e)}`,
      ...(user?.hint !== undefined && { hint: paste ? pasteable(user.hint, paste) : user.hint }),
      exitCode,
    },
  });
}

async function dispatch(argv: string[], io: ProgramIo): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? rest[0] : undefined;
    io.stdout.write(
      target === undefined ? programHelp(await loadCommands()) : commandHelp(await findCommand(target)),
    );
    return EXIT.ok;
  }
  if (first === '--version' || first === '-V') {
    io.stdout.write(`overlay ${version()}\n`);
    return EXIT.ok;
  }
  if (first.startsWith('-')) {
    throw new OverlayError('EUSAGE', `unknown flag ${first} before a command`, {
      hint: 'flags go after the command, e.g. overlay status --json; see overlay --help',
    });
  }
  const cmd = await findCommand(first);
  const { values, positionals } = parseFlags(cmd, rest);
  if (values['help'] === true) {
    io.stdout.write(commandHelp(cmd));
    return EXIT.ok;
  }
  if (positionals.length < cmd.positionals.min || positionals.length > cmd.positionals.max) {
    throw new OverlayError('EUSAGE', `${describeArity(cmd)}; got ${positionals.length}`, {
      hint: `usage: overlay ${cmd.name} ${cmd.usage}`,
    });
  }
  const ctx = { args: positionals, flags: values, ...io, command: cmd.name, argv: rest };
  cmd.validate?.(ctx);
  if (cmd.changesNode) {
    const dir = typeof values['state-dir'] === 'string' ? values['state-dir'] : undefined;
    requireNodeAccess(cmd.name, resolveStateDir(dir, io.env), argv, io.env);
  }
  await cmd.run(ctx);
  return EXIT.ok;
}

async function findCommand(name: string): Promise<Command> {
  const cmd = await loadCommand(name);
  if (!cmd) {
    const names = commandNames;
    const near = didYouMean(name, names);
    throw new OverlayError('EUSAGE', `unknown command "${name}"`, {
      hint: near ? `did you mean overlay ${near}?` : `commands: ${names.join(', ')}; see overlay --help`,
    });
  }
  return cmd;
}

function parseFlags(cmd: Command, args: string[]) {
  const all: Record<string, FlagSpec> = { ...globalFlags, ...cmd.flags };
  const options: NonNullable<ParseArgsConfig['options']> = {};
  for (const [name, spec] of Object.entries(all)) {
    options[name] = {
      type: spec.type,
      ...(spec.short ? { short: spec.short } : {}),
      ...(spec.multiple ? { multiple: true } : {}),
    };
  }
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (e) {
    // parseArgs' messages are long and mention its own API; say it in one line.
    const msg =
      e instanceof Error ? e.message.split('\n')[0]!.replace(/\. To specify a positional.*$/, '') : '';
    const unknown = /^Unknown option '(-{1,2}[^']+)'/.exec(msg)?.[1];
    const near = unknown
      ? didYouMean(
          unknown,
          Object.keys(all).map((f) => `--${f}`),
        )
      : undefined;
    throw new OverlayError('EUSAGE', `${cmd.name}: ${msg.replace(/^Unknown option/, 'unknown flag')}`, {
      hint: near ? `did you mean ${near}? see overlay ${cmd.name} --help` : `see overlay ${cmd.name} --help`,
      cause: e,
    });
  }
}

function describeArity(cmd: Command): string {
  const { min, max } = cmd.positionals;
  if (max === 0) return `${cmd.name} takes no arguments`;
  if (min === max) return `${cmd.name} takes ${min} argument${min === 1 ? '' : 's'}`;
  return `${cmd.name} takes ${min} to ${max} arguments`;
}

/** One line: "overlay: what went wrong (how to fix it)"; --verbose adds the causes. */
export function formatError(e: unknown, verbose: boolean, paste?: PasteContext): string {
  const lines: string[] = [];
  const user = userErrorOf(e);
  if (user) {
    const hint = user.hint && paste ? pasteable(user.hint, paste) : user.hint;
    lines.push(`overlay: ${oneLine(user.message)}${hint ? ` (${hint})` : ''}`);
  } else {
    lines.push(`overlay: unexpected error: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (verbose) {
    let cause = e instanceof Error ? e.cause : undefined;
    for (let depth = 0; cause !== undefined && depth < 8; depth++) {
      lines.push(`  caused by: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}`);
      cause = cause instanceof Error ? cause.cause : undefined;
    }
    if (!user && e instanceof Error && e.stack) lines.push(e.stack);
  }
  return `${lines.join('\n')}\n`;
}

/** An error is one line: a message carrying a parser's multi-line text keeps its first line. */
function oneLine(text: string): string {
  return text.split('\n')[0]!;
}

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
