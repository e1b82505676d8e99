/**
 * Where the datastore is, resolved exactly as calicoctl does it, so every program of ours
 * (calicoctl, calico-node, the CNI plugin, library users through `openDatastore`) agrees:
 *
 *   1. the config file: `--config FILE` if given (it must exist), else /etc/calico/calicoctl.cfg if
 *      it exists; the seed's v1 `calicoApiConfig` and v3 `CalicoAPIConfig` forms are both read;
 *   2. otherwise the environment (the seed's table: DATASTORE_TYPE, ETCD_ENDPOINTS, ETCD_USERNAME,
 *      ETCD_PASSWORD, ETCD_KEY_FILE, ETCD_CERT_FILE, ETCD_CA_CERT_FILE, plus SQLITE_PATH);
 *   3. otherwise the embedded SQLite store at the default path.
 *
 * `etcdv2` (the seed's default) no longer exists; it gets a message that says to use etcdv3.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';

// The YAML parser is loaded only to read a config file: calico-node and the CNI server configured
// by the environment do not keep it resident (~0.5-1 MB of RSS; bench/node-memory). Synchronous
// (require, not import()) so resolution stays a plain function call.
const requireModule = createRequire(import.meta.url);

export const DEFAULT_CONFIG_FILE = '/etc/calico/calicoctl.cfg';

/** The SQLite file used when nothing is configured: a system path for root, the user's data dir otherwise. */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env): string {
  if (process.getuid?.() === 0) return '/var/lib/calico/datastore.sqlite';
  const base = env.XDG_DATA_HOME || join(env.HOME || homedir(), '.local', 'share');
  return join(base, 'calico', 'datastore.sqlite');
}

export type ConfiguredDatastoreType = 'sqlite' | 'etcdv3' | 'memory';

export interface DatastoreConfig {
  datastoreType: ConfiguredDatastoreType;
  sqlitePath?: string;
  etcdEndpoints?: string[];
  etcdUsername?: string;
  etcdPassword?: string;
  etcdKeyFile?: string;
  etcdCertFile?: string;
  etcdCACertFile?: string;
  /** Where this configuration came from, for messages: a file path, "environment" or "default". */
  source: string;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const SPEC_FIELDS: Record<string, keyof DatastoreConfig | undefined> = {
  datastoreType: 'datastoreType',
  sqlitePath: 'sqlitePath',
  etcdEndpoints: 'etcdEndpoints',
  etcdUsername: 'etcdUsername',
  etcdPassword: 'etcdPassword',
  etcdKeyFile: 'etcdKeyFile',
  etcdCertFile: 'etcdCertFile',
  etcdCACertFile: 'etcdCACertFile',
};

const ENV_FIELDS: [string, keyof DatastoreConfig][] = [
  ['DATASTORE_TYPE', 'datastoreType'],
  ['SQLITE_PATH', 'sqlitePath'],
  ['ETCD_ENDPOINTS', 'etcdEndpoints'],
  ['ETCD_USERNAME', 'etcdUsername'],
  ['ETCD_PASSWORD', 'etcdPassword'],
  ['ETCD_KEY_FILE', 'etcdKeyFile'],
  ['ETCD_CERT_FILE', 'etcdCertFile'],
  ['ETCD_CA_CERT_FILE', 'etcdCACertFile'],
];

function datastoreTypeOf(raw: string | undefined, source: string): ConfiguredDatastoreType {
  const t = (raw ?? 'sqlite').trim();
  if (t === 'sqlite' || t === 'etcdv3' || t === 'memory') return t;
  if (t === 'etcdv2')
    throw new ConfigError(
      `${source}: datastoreType "etcdv2" is not supported: the etcd v2 API is gone; use "etcdv3" (same endpoints, etcd 3.x)`,
    );
  throw new ConfigError(`${source}: datastoreType "${t}" is not supported (use "sqlite" or "etcdv3")`);
}

function build(fields: Partial<Record<keyof DatastoreConfig, string>>, source: string): DatastoreConfig {
  const cfg: DatastoreConfig = { datastoreType: datastoreTypeOf(fields.datastoreType, source), source };
  if (fields.sqlitePath) cfg.sqlitePath = fields.sqlitePath;
  if (fields.etcdEndpoints)
    cfg.etcdEndpoints = fields.etcdEndpoints
      .split(',')
      .map((e) => e.trim())
      .filter(Boolean);
  if (fields.etcdUsername) cfg.etcdUsername = fields.etcdUsername;
  if (fields.etcdPassword) cfg.etcdPassword = fields.etcdPassword;
  if (fields.etcdKeyFile) cfg.etcdKeyFile = fields.etcdKeyFile;
  if (fields.etcdCertFile) cfg.etcdCertFile = fields.etcdCertFile;
  if (fields.etcdCACertFile) cfg.etcdCACertFile = fields.etcdCACertFile;
  if (cfg.datastoreType === 'sqlite') cfg.sqlitePath ??= defaultSqlitePath();
  if (cfg.datastoreType === 'etcdv3' && !cfg.etcdEndpoints?.length)
    throw new ConfigError(
      `${source}: datastoreType etcdv3 needs etcdEndpoints (ETCD_ENDPOINTS), e.g. http://127.0.0.1:2379`,
    );
  return cfg;
}

/** Reads a calicoctl.cfg (v1 calicoApiConfig or v3 CalicoAPIConfig). */
export function readConfigFile(path: string): DatastoreConfig {
  let doc: unknown;
  try {
    const YAML = requireModule('yaml') as typeof import('yaml');
    doc = YAML.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`cannot read config file ${path}: ${(e as Error).message}`);
  }
  const d = (doc ?? {}) as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
  const kind = String(d.kind ?? '');
  if (kind !== 'calicoApiConfig' && kind !== 'CalicoAPIConfig')
    throw new ConfigError(
      `config file ${path}: kind "${kind}" is not a calicoctl configuration (expected CalicoAPIConfig, or the v1 calicoApiConfig)`,
    );
  const spec = (d.spec ?? {}) as Record<string, unknown>;
  const fields: Partial<Record<keyof DatastoreConfig, string>> = {};
  for (const [k, v] of Object.entries(spec)) {
    const field = SPEC_FIELDS[k];
    if (!field)
      throw new ConfigError(
        `config file ${path}: unknown field spec.${k} (known: ${Object.keys(SPEC_FIELDS).join(', ')})`,
      );
    if (v !== null && v !== undefined) fields[field] = Array.isArray(v) ? v.join(',') : String(v);
  }
  return build(fields, path);
}

export interface ResolveOptions {
  /** An explicit --config file; it must exist. */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** The file looked for when no --config is given (tests point it elsewhere). */
  defaultConfigFile?: string;
}

export function resolveDatastoreConfig(opts: ResolveOptions = {}): DatastoreConfig {
  const env = opts.env ?? process.env;
  if (opts.configFile) {
    if (!existsSync(opts.configFile)) throw new ConfigError(`config file ${opts.configFile} does not exist`);
    return readConfigFile(opts.configFile);
  }
  const defaultFile = opts.defaultConfigFile ?? DEFAULT_CONFIG_FILE;
  if (existsSync(defaultFile)) return readConfigFile(defaultFile);
  const fields: Partial<Record<keyof DatastoreConfig, string>> = {};
  let any = false;
  for (const [name, field] of ENV_FIELDS) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      fields[field] = v;
      any = true;
    }
  }
  if (any) return build(fields, 'environment');
  return build({}, 'default');
}
