import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The compiled CLI, run as a user would run it. */
export const cliPath = fileURLToPath(new URL('../../cli/main.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The process id it ran as (the CLI's own when there is no prefix). */
  pid: number | undefined;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  prefix?: string[];
  /** Sent at the timeout; SIGTERM lets a command clean up (the demo deletes its namespaces). */
  killSignal?: NodeJS.Signals;
}

/** Runs `overlay ARGS` in a child process (bounded by a timeout) and collects its output. */
export function runCli(args: string[], options: RunOptions = {}): Promise<CliResult> {
  return runProcess([process.execPath, cliPath, ...args], options);
}

/** Runs `PREFIX... ARGV` in a child process (bounded by a timeout) and collects its output. */
export function runProcess(argv: string[], options: RunOptions = {}): Promise<CliResult> {
  const [cmd, ...rest] = [...(options.prefix ?? []), ...argv];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd!, rest, {
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 20_000,
      killSignal: options.killSignal ?? 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr, pid: child.pid }));
  });
}
