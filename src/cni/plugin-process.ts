/**
 * Runs a plugin as the process a runtime execs: reads stdin whole, writes the one reply to stdout
 * synchronously, and exits with its code straight away, so a lingering handle (an etcd channel)
 * cannot keep the runtime waiting.
 */
import { readFileSync, writeSync } from 'node:fs';
import type { PluginEnvironment, PluginOutcome } from './run-plugin.js';

function readStdin(): string {
  // A runtime always pipes the configuration; a person typing `calico` at a terminal gets VERSION-style use.
  if (process.stdin.isTTY) return '';
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return '';
  }
}

export async function runPluginProcess(
  plugin: (pe: PluginEnvironment) => Promise<PluginOutcome>,
): Promise<never> {
  const outcome = await plugin({ env: process.env, stdin: readStdin(), exitsAfterCall: true });
  if (outcome.stdout) writeSync(1, outcome.stdout);
  process.exit(outcome.exitCode);
}
