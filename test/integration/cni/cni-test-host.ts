/**
 * The host a CNI integration test starts from: a network namespace standing for the host, a temporary
 * directory holding the SQLite datastore (and the plugins, installed as scripts/install-cni.sh
 * --source installs them, unless the test installs its own), the IP pools the test allocates from,
 * and the calico network configuration that points at that store. Every CNI test needs the same
 * pieces; made in one place, they are also removed in one place: `close()` closes the store, deletes
 * every namespace of the run and the directory, and a set-up that fails halfway removes what it made
 * before it rethrows, so a test's `after()` cannot forget a piece.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { IpamClient } from '../../../src/ipam/index.js';
import { NetnsLab } from '../../support/netns.js';
import { createIpPools, type PoolSpec } from '../../support/node-datastore.js';
import { caliLinksIn, type ContainerRef } from './cni-runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface CniTestHostOptions {
  /** Start of the temporary directory's name, so a leftover directory says which test made it. */
  readonly tmpPrefix: string;
  /** IP pools created in the store before any plugin runs. */
  readonly pools: readonly PoolSpec[];
  /** Forwarding turned on in the host namespace: containers reach each other through the host. */
  readonly forwarding?: readonly ('ipv4' | 'ipv6')[];
  /** Install the plugins into `bin` (--source); false for a test whose subject is the installation. */
  readonly installPlugins?: boolean;
}

/** A container the test made: its CNI reference plus the short name of its network namespace. */
export interface TestContainer extends ContainerRef {
  readonly ns: string;
}

const FORWARDING_SYSCTL = {
  ipv4: 'net.ipv4.ip_forward=1',
  ipv6: 'net.ipv6.conf.all.forwarding=1',
} as const;

export class CniTestHost {
  readonly bin: string;
  readonly sqlitePath: string;
  readonly resources: ResourceClient;
  readonly ipam: IpamClient;
  private containers = 0;

  constructor(
    readonly lab: NetnsLab,
    readonly dir: string,
    readonly hostNs: string,
    readonly store: SqliteDatastore,
  ) {
    this.bin = join(dir, 'bin');
    this.sqlitePath = join(dir, 'store.sqlite');
    this.resources = new ResourceClient(store);
    this.ipam = new IpamClient(store);
  }

  /** The calico plugin's entry of a network configuration, pointed at this host's store and IPAM. */
  calicoPlugin(nodename: string): Record<string, unknown> {
    return {
      type: 'calico',
      nodename,
      datastore_type: 'sqlite',
      sqlite_path: this.sqlitePath,
      ipam: { type: 'calico-ipam' },
    };
  }

  /** A CNI 1.0.0 network configuration of the calico plugin; `extra` adds or overrides fields. */
  network(
    name: string,
    nodename: string,
    extra: Readonly<Record<string, unknown>> = {},
  ): Record<string, unknown> {
    return { cniVersion: '1.0.0', name, ...this.calicoPlugin(nodename), ...extra };
  }

  /** A new container namespace; `stem` starts its namespace name and its container ID. */
  newContainer(stem: string, extra: Partial<ContainerRef> = {}): TestContainer {
    this.containers += 1;
    const short = `${stem}${this.containers}`;
    const ns = this.lab.addNamespace(short);
    return { id: `${short}${this.lab.prefix}`, netns: `/run/netns/${ns}`, ns, ...extra };
  }

  /** The host ends of workload veths in the host namespace. */
  caliLinks(): string[] {
    return caliLinksIn(this.lab, this.hostNs);
  }

  async close(): Promise<void> {
    await removeHost(this.lab, this.dir, this.store);
  }
}

async function removeHost(lab: NetnsLab, dir: string, store: SqliteDatastore | undefined): Promise<void> {
  try {
    await store?.close();
  } finally {
    lab.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function openCniTestHost(o: CniTestHostOptions): Promise<CniTestHost> {
  const lab = new NetnsLab();
  const dir = mkdtempSync(join(tmpdir(), o.tmpPrefix));
  let store: SqliteDatastore | undefined;
  try {
    if (o.installPlugins ?? true)
      execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', join(dir, 'bin'), '--source']);
    const hostNs = lab.addNamespace('host');
    for (const family of o.forwarding ?? []) lab.exec(hostNs, 'sysctl', ['-qw', FORWARDING_SYSCTL[family]]);
    store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    const host = new CniTestHost(lab, dir, hostNs, store);
    await createIpPools(host.resources, o.pools);
    return host;
  } catch (e) {
    await removeHost(lab, dir, store);
    throw e;
  }
}
