/**
 * The datastore the calico-node hosts of a test share: one SQLite file in the test's directory; the
 * environment that points calico-node and calicoctl at it (its run directory beside it, and never the
 * machine's /etc/calico/calicoctl.cfg); its IP pools; and the blocks IPAM made affine to each host,
 * which are what that host's BGP speaker announces. The test writes its own resources (Nodes, peers,
 * endpoints) through `client`, so what it configures stays in the test.
 */
import { join } from 'node:path';
import { SqliteDatastore } from '../../src/datastore/sqlite.js';
import { ResourceClient } from '../../src/datastore/resources.js';
import { IpamClient } from '../../src/ipam/index.js';
import { HOST_PREFIX, parseAffinityKey } from '../../src/ipam/keys.js';
import { formatCidr } from '../../src/net/ip.js';

export interface PoolSpec {
  readonly name: string;
  readonly cidr: string;
  readonly blockSize: number;
}

/** An IPv4 and an IPv6 pool with room for a block per host: the prefixes BGP tests see announced. */
export const BGP_TEST_POOLS: readonly PoolSpec[] = [
  { name: 'pool4', cidr: '10.65.0.0/16', blockSize: 26 },
  { name: 'pool6', cidr: 'fd65::/48', blockSize: 122 },
];

export async function createIpPools(client: ResourceClient, pools: readonly PoolSpec[]): Promise<void> {
  for (const { name, cidr, blockSize } of pools)
    await client.create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name },
      spec: { cidr, blockSize },
    });
}

/** The blocks affine to one host, as CIDR strings. */
export interface HostBlocks {
  ipv4?: string;
  ipv6?: string;
}

export class NodeDatastore {
  readonly client: ResourceClient;
  readonly ipam: IpamClient;
  /** Where calico-node keeps its sockets (the BGP status socket among them). */
  readonly runDir: string;
  /** The environment calico-node and calicoctl read this datastore from. */
  readonly env: NodeJS.ProcessEnv;

  private constructor(
    readonly path: string,
    readonly store: SqliteDatastore,
    dir: string,
  ) {
    this.client = new ResourceClient(store);
    this.ipam = new IpamClient(store);
    this.runDir = join(dir, 'run');
    this.env = {
      DATASTORE_TYPE: 'sqlite',
      SQLITE_PATH: path,
      CALICO_RUN_DIR: this.runDir,
      CALICOCTL_DEFAULT_CONFIG: join(dir, 'none.cfg'),
    };
  }

  /** Opens (creating) `store.sqlite` in `dir`; the caller owns `dir` and removes it. */
  static async open(dir: string): Promise<NodeDatastore> {
    const path = join(dir, 'store.sqlite');
    return new NodeDatastore(path, await SqliteDatastore.open(path), dir);
  }

  /** host → the IPv4 and IPv6 blocks IPAM has made affine to it. */
  async affineBlocks(): Promise<Record<string, HostBlocks>> {
    const blocks: Record<string, HostBlocks> = {};
    for (const kv of (await this.store.list(HOST_PREFIX)).items) {
      const a = parseAffinityKey(kv.key);
      if (a === undefined) continue;
      const host = (blocks[a.host] ??= {});
      if (a.cidr.family === 4) host.ipv4 = formatCidr(a.cidr);
      else host.ipv6 = formatCidr(a.cidr);
    }
    return blocks;
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
