import type { Command } from '../command.js';
import { completionCommand } from './completion.js';
import { demo } from './demo.js';
import { down } from './down.js';
import { init } from './init.js';
import { invite } from './invite.js';
import { join } from './join.js';
import { kick } from './kick.js';
import { leave } from './leave.js';
import { peers } from './peers.js';
import { ping } from './ping.js';
import { status } from './status.js';
import { up } from './up.js';
import { whoami } from './whoami.js';

/** Every subcommand, in the order --help lists them: the user's story first. */
export const commands: readonly Command[] = [
  init,
  up,
  invite,
  join,
  status,
  peers,
  ping,
  kick,
  leave,
  down,
  whoami,
  demo,
  completionCommand(() => commands),
];
