#!/usr/bin/env node
import { labMain } from '../src/lab/cli.js';

process.exitCode = await labMain(process.argv.slice(2), {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
  env: process.env,
});
