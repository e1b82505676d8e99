/**
 * What a calicoctl command gets to work with: where to print, the environment, standard input, and
 * a lazily opened datastore (resolved from --config / environment / default, as config.ts says).
 * Passing these in keeps every command testable in-process.
 */
import { resolveDatastoreConfig, type DatastoreConfig } from '../datastore/config.js';
import { openDatastore } from '../datastore/open.js';
import { ResourceClient } from '../datastore/resources.js';
import type { Datastore } from '../datastore/types.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  readStdin: () => Promise<string>;
  env: NodeJS.ProcessEnv;
}

/** A user mistake or a refused operation: printed as is, exit code 1, no stack trace. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

export class CliContext {
  private store?: Datastore;
  configFile?: string;

  constructor(readonly io: CliIo) {}

  out(line: string): void {
    this.io.stdout(line.endsWith('\n') ? line : line + '\n');
  }

  err(line: string): void {
    this.io.stderr(line.endsWith('\n') ? line : line + '\n');
  }

  config(): DatastoreConfig {
    return resolveDatastoreConfig({
      ...(this.configFile ? { configFile: this.configFile } : {}),
      env: this.io.env,
      ...(this.io.env.CALICOCTL_DEFAULT_CONFIG
        ? { defaultConfigFile: this.io.env.CALICOCTL_DEFAULT_CONFIG }
        : {}),
    });
  }

  async datastore(): Promise<Datastore> {
    this.store ??= await openDatastore(this.config());
    return this.store;
  }

  async client(): Promise<ResourceClient> {
    return new ResourceClient(await this.datastore());
  }

  async close(): Promise<void> {
    await this.store?.close();
    this.store = undefined;
  }
}
