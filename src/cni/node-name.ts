/**
 * Which node a container is on, so IPAM uses that node's blocks and Felix on that node picks up the
 * endpoint. Calico's order: `nodename` in the network configuration, else the node name file that
 * calico-node writes (/var/lib/calico/nodename), else the host name.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { NodeNameSource } from './network-config.js';

export interface NodeNameLookups {
  readonly readFile: (path: string) => string | undefined;
  readonly hostname: () => string;
}

export const systemNodeNameLookups: NodeNameLookups = {
  readFile: (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  },
  hostname,
};

export function resolveNodeName(
  source: NodeNameSource,
  lookups: NodeNameLookups = systemNodeNameLookups,
): string {
  if (source.nodename) return source.nodename;
  const fromFile = lookups.readFile(source.nodenameFile)?.trim();
  if (fromFile) return fromFile;
  return lookups.hostname();
}
