import { type Command, type FlagSpec, globalFlags } from './command.js';
import { exitCodeHelp } from './exitCodes.js';

function flagLines(flags: Record<string, FlagSpec>): string[] {
  const rows = Object.entries(flags).map(([name, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '    ';
    const arg = spec.type === 'string' ? ` ${spec.arg ?? 'VALUE'}` : '';
    return [`  ${short}--${name}${arg}`, spec.description] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return rows.map(([left, desc]) => left.padEnd(width) + desc);
}

export function programHelp(commands: readonly Command[]): string {
  const width = Math.max(...commands.map((c) => c.name.length)) + 4;
  return [
    'overlay — an encrypted mesh VPN that speaks WireGuard',
    '',
    'Usage: overlay <command> [flags]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    '',
    'Flags for every command:',
    ...flagLines(globalFlags),
    '      --version        print the version and exit',
    '',
    "Run 'overlay <command> --help' for a command's own flags.",
    '',
    exitCodeHelp,
    '',
  ].join('\n');
}

export function commandHelp(cmd: Command): string {
  const own = Object.keys(cmd.flags).length > 0 ? ['', 'Flags:', ...flagLines(cmd.flags)] : [];
  return [
    `Usage: overlay ${cmd.name} ${cmd.usage}`.trimEnd(),
    '',
    cmd.summary,
    ...own,
    '',
    'Flags for every command:',
    ...flagLines(globalFlags),
    '',
    exitCodeHelp,
    '',
  ].join('\n');
}
