/**
 * calicoctl's command tree. Each family of commands registers itself from its own module; this file
 * only wires the global options, the error-to-exit-code policy (0 success, 1 failure, messages and
 * not stack traces for user errors) and the process I/O.
 */
import { Command, CommanderError } from 'commander';
import { VERSION } from '../version.js';
import { ConfigError } from '../datastore/config.js';
import { DatastoreError } from '../datastore/errors.js';
import { ValidationError } from '../api/validate.js';
import { CliContext, CliError, type CliIo } from './context.js';
import { registerResourceCommands } from './commands/resources.js';
import { registerConfigCommands } from './commands/config.js';
import { registerIpamCommands } from './commands/ipam.js';
import { registerPolicyCommands } from './commands/policy-explain.js';
import { registerDatastoreCommands } from './commands/datastore.js';
import { registerNodeCommands } from './commands/node.js';
import { registerNodeOpsCommands } from './commands/node-ops.js';

function readProcessStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (c: string) => (data += c));
    process.stdin.on('end', () => resolve(data));
    process.stdin.on('error', reject);
  });
}

export const processIo: CliIo = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readStdin: readProcessStdin,
  env: process.env,
};

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('calicoctl')
    .description('Manage a Calico-style network: resources, configuration, IPAM and nodes')
    .option('-c, --config <file>', 'calicoctl configuration file (default /etc/calico/calicoctl.cfg)')
    .hook('preAction', (cmd) => {
      const file = cmd.opts<{ config?: string }>().config;
      if (file) ctx.configFile = file;
    })
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) });
  program.enablePositionalOptions(false);
  registerResourceCommands(program, ctx);
  registerConfigCommands(program, ctx);
  registerIpamCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerDatastoreCommands(program, ctx);
  registerNodeCommands(program, ctx);
  registerNodeOpsCommands(program, ctx);
  program
    .command('version')
    .description('Print the client version, and the cluster version when the datastore has one')
    .action(async () => {
      ctx.out(`Client Version:    v${VERSION}`);
      const info = await (await ctx.client()).get('ClusterInformation', 'default');
      if (info?.spec.calicoVersion) ctx.out(`Cluster Version:   ${info.spec.calicoVersion}`);
      if (info?.spec.clusterType) ctx.out(`Cluster Type:      ${info.spec.clusterType}`);
    });
  // Subcommands inherit exit override and output routing.
  for (const c of program.commands) {
    c.exitOverride().configureOutput({
      writeOut: (s) => ctx.io.stdout(s),
      writeErr: (s) => ctx.io.stderr(s),
    });
    for (const sub of c.commands)
      sub
        .exitOverride()
        .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) });
  }
  return program;
}

/** Runs calicoctl with these arguments; returns the exit code. */
export async function main(argv: string[], io: CliIo = processIo): Promise<number> {
  const ctx = new CliContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version requests are successes; usage errors were already printed by commander.
      return e.exitCode === 0 || e.code === 'commander.helpDisplayed' ? 0 : 1;
    }
    if (
      e instanceof CliError ||
      e instanceof ConfigError ||
      e instanceof ValidationError ||
      e instanceof DatastoreError
    ) {
      ctx.err(e.message);
      return 1;
    }
    ctx.err(`unexpected error: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    await ctx.close();
  }
}
