#!/usr/bin/env node
import { runCalicoNode } from '../src/node/main.js';

process.exitCode = await runCalicoNode(process.argv.slice(2));
