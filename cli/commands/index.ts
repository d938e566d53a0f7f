import type { Command } from '../command.js';
import { whoami } from './whoami.js';

/** Every subcommand, in the order --help lists them. */
export const commands: readonly Command[] = [whoami];
