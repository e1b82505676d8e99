/**
 * `calicoctl datastore migrate export > FILE` and `calicoctl datastore migrate import -f FILE`:
 * Calico's two commands for moving a cluster's whole datastore (every resource and all IPAM state)
 * to another backend, e.g. from the embedded SQLite file to etcd. Export reads the datastore the
 * configuration points at; import writes into the one it points at, which must be empty. The work
 * is done at the key level by src/datastore/migration.ts; this file is the command-line face.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { exportDatastore, importDatastore, parseExport } from '../../datastore/migration.js';
import { CliContext, CliError } from '../context.js';

async function readExportFile(ctx: CliContext, file: string): Promise<string> {
  if (file === '-') return ctx.io.readStdin();
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
  }
}

export function registerDatastoreCommands(program: Command, ctx: CliContext): void {
  const datastore = program
    .command('datastore')
    .description('Operations on the whole datastore: migrate it between backends');
  const migrate = datastore
    .command('migrate')
    .description('Move every resource and all IPAM state between datastores (export, then import)');
  migrate
    .command('export')
    .description('Write the whole datastore to stdout: calicoctl datastore migrate export > FILE')
    .action(async () => {
      const store = await ctx.datastore();
      const header = await exportDatastore(store, (text) => ctx.io.stdout(text));
      ctx.err(
        `exported ${header.count} keys from the ${header.source} datastore at revision ${header.revision}`,
      );
    });
  migrate
    .command('import')
    .description('Load an export into this (empty) datastore: calicoctl datastore migrate import -f FILE')
    .requiredOption('-f, --filename <file>', 'the file written by "datastore migrate export", - for stdin')
    .action(async (o: { filename: string }) => {
      const text = await readExportFile(ctx, o.filename);
      const parsed = parseExport(text, o.filename === '-' ? 'stdin' : o.filename);
      const store = await ctx.datastore();
      const written = await importDatastore(store, parsed);
      ctx.out(
        `imported ${written} keys from a ${parsed.header.source} export (revision ${parsed.header.revision}) into the ${store.type} datastore`,
      );
    });
  // main.ts routes output and exit codes for two levels of commands; these sit one level deeper.
  for (const command of [datastore, migrate, ...migrate.commands]) {
    command
      .exitOverride()
      .configureOutput({ writeOut: (s) => ctx.io.stdout(s), writeErr: (s) => ctx.io.stderr(s) });
  }
}
