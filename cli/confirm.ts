import readline from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/**
 * Asks a yes/no question on a terminal and reads one line: only "y" or "yes" (any case) is yes, so
 * Enter, Ctrl-D or anything else keeps things as they are.
 */
export async function confirm(question: string, input: Readable, output: Writable): Promise<boolean> {
  const rl = readline.createInterface({ input, output, terminal: false });
  try {
    output.write(`${question} [y/N] `);
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}
