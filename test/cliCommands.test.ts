/** The command table (cli/commands/index.ts): each command is loaded by its name when it runs. */
import test from 'ava';
import { commandNames, loadCommand, loadCommands } from '../cli/commands/index.js';

test('every command loads under its own name, in the order help lists them; an unknown name is none', async (t) => {
  for (const name of commandNames) t.is((await loadCommand(name))?.name, name);
  t.deepEqual(
    (await loadCommands()).map((c) => c.name),
    commandNames,
  );
  t.is(await loadCommand('nosuch'), undefined);
  t.is(await loadCommand('constructor'), undefined, 'a Map, not an object: no inherited names');
});
