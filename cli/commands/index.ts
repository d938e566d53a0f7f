import type { Command } from '../command.js';

/**
 * Every subcommand by name, in the order --help lists them (the user's story first). A command's
 * module is loaded only when it runs: `overlay status` then loads what status needs, not the node
 * that `up` starts, and a short command is mostly its own start (about 0.2 s of CPU less for
 * status, which scripts and the tests call often).
 */
const loaders = new Map<string, () => Promise<Command>>([
  ['init', async () => (await import('./init.js')).init],
  ['up', async () => (await import('./up.js')).up],
  ['invite', async () => (await import('./invite.js')).invite],
  ['join', async () => (await import('./join.js')).join],
  ['status', async () => (await import('./status.js')).status],
  ['peers', async () => (await import('./peers.js')).peers],
  ['ping', async () => (await import('./ping.js')).ping],
  ['kick', async () => (await import('./kick.js')).kick],
  ['leave', async () => (await import('./leave.js')).leave],
  ['down', async () => (await import('./down.js')).down],
  ['whoami', async () => (await import('./whoami.js')).whoami],
  ['demo', async () => (await import('./demo.js')).demo],
  ['completion', async () => (await import('./completion.js')).completionCommand(loadCommands)],
]);

export const commandNames: readonly string[] = [...loaders.keys()];

/** The command called `name`, or undefined when there is none. */
export async function loadCommand(name: string): Promise<Command | undefined> {
  return loaders.get(name)?.();
}

/** Every command, in --help's order: for help and completion, which list them all. */
export function loadCommands(): Promise<Command[]> {
  return Promise.all([...loaders.values()].map((load) => load()));
}
