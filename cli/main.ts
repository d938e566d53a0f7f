#!/usr/bin/env node
import { runProgram } from './program.js';

process.exitCode = await runProgram(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
});
