/**
 * ETCD_TIMEOUT, parsed without loading the etcd client: configuration code that only reads the
 * setting (openDatastore for every datastore type) must not pay for etcd3 and its gRPC stack
 * (~25 MB of resident memory in calico-node) when the datastore is SQLite.
 */
import { ConfigError } from './config.js';

/** Parses ETCD_TIMEOUT: "5s", "1500ms", "2m", or a bare number of seconds (as etcdctl's flags read). */
export function parseEtcdTimeout(raw: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m)?\s*$/.exec(raw);
  if (!match) throw new ConfigError(`ETCD_TIMEOUT "${raw}" is not a duration; use e.g. 5s, 1500ms or 2m`);
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const ms = unit === 'ms' ? value : unit === 's' ? value * 1_000 : value * 60_000;
  if (ms <= 0) throw new ConfigError(`ETCD_TIMEOUT "${raw}" must be more than zero`);
  return ms;
}
