import { OverlayError } from '../../core/errors.js';
import { type Command, globalFlags } from '../command.js';

function flagsOf(cmd: Command): string[] {
  return Object.keys({ ...globalFlags, ...cmd.flags }).map((f) => `--${f}`);
}

/** The shell words that list what `cmd`'s first argument may be (bash and zsh alike). */
function argumentWords(cmd: Command, shell: 'bash' | 'zsh'): string {
  // zsh does not split an unquoted parameter into words unless told to (${=...}).
  const statedir = shell === 'zsh' ? '$' + '{=statedir}' : '$statedir';
  if (cmd.completes === 'members') return `$(overlay peers --names ${statedir} 2>/dev/null)`;
  return cmd.completes?.words.join(' ') ?? '';
}

function bash(commands: readonly Command[]): string {
  const cases = commands
    .map((c) => `    ${c.name}) opts="${flagsOf(c).join(' ')}"; args="${argumentWords(c, 'bash')}" ;;`)
    .join('\n');
  return `# bash completion for overlay; load with: source <(overlay completion bash)
_overlay() {
  local cur=\${COMP_WORDS[COMP_CWORD]}
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=($(compgen -W "${commands.map((c) => c.name).join(' ')} --help --version" -- "$cur"))
    return
  fi
  local opts="" args="" statedir="" i
  for ((i = 2; i < COMP_CWORD; i++)); do
    if [ "\${COMP_WORDS[i]}" = "--state-dir" ]; then statedir="--state-dir \${COMP_WORDS[i+1]}"; fi
  done
  case "\${COMP_WORDS[1]}" in
${cases}
  esac
  if [ "\${COMP_WORDS[COMP_CWORD-1]}" = "--state-dir" ]; then
    COMPREPLY=($(compgen -d -- "$cur"))
    return
  fi
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$opts" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$args" -- "$cur")) ;;
  esac
}
complete -F _overlay overlay
`;
}

function zsh(commands: readonly Command[]): string {
  const list = commands
    .map((c) => `    '${c.name}:${c.summary.replace(/'/g, "'\\''").replace(/:/g, '\\:')}'`)
    .join('\n');
  const cases = commands
    .map((c) => `      ${c.name}) compadd -- ${flagsOf(c).join(' ')} ${argumentWords(c, 'zsh')} ;;`)
    .join('\n');
  return `#compdef overlay
# zsh completion for overlay; load with: source <(overlay completion zsh)
_overlay() {
  local -a cmds
  cmds=(
${list}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' cmds
    return
  fi
  local statedir="" i
  for ((i = 3; i < CURRENT; i++)); do
    if [[ "\${words[i]}" == "--state-dir" ]]; then statedir="--state-dir \${words[i+1]}"; fi
  done
  case "\${words[2]}" in
${cases}
  esac
}
compdef _overlay overlay
`;
}

/**
 * `overlay completion`: its script lists every command, this one included, so the list is given to
 * it (`commands`, read when it runs) rather than imported from index.ts, which imports this.
 */
export function completionCommand(commands: () => Promise<readonly Command[]>): Command {
  return {
    name: 'completion',
    summary: 'print a shell completion script: overlay completion bash|zsh',
    usage: 'bash|zsh',
    flags: {},
    positionals: { min: 1, max: 1 },
    completes: { words: ['bash', 'zsh'] },
    async run(ctx) {
      const shell = ctx.args[0];
      if (shell === 'bash') ctx.stdout.write(bash(await commands()));
      else if (shell === 'zsh') ctx.stdout.write(zsh(await commands()));
      else
        throw new OverlayError('EUSAGE', `no completion for "${shell}"`, {
          hint: 'overlay completion bash, or zsh',
        });
    },
  };
}
