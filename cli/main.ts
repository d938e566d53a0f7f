#!/usr/bin/env node
import { runProgram } from './program.js';

// A reader that went away (`overlay ping b | head -1`) ends the command quietly, as it ends `cat`:
// no stack trace, and a stream that would write on for ever stops here.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

process.exitCode = await runProgram(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
