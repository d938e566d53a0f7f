import type { Command } from '../command.js';
import { init } from './init.js';
import { whoami } from './whoami.js';

/** Every subcommand, in the order --help lists them. */
export const commands: readonly Command[] = [init, whoami];
