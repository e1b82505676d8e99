/**
 * scripts/install-cni.sh can install the plugins as tsx source, one esbuild bundle, or a V8 start-up
 * snapshot of that bundle. Each form must be the same plugin: VERSION, then ADD, CHECK and DEL of a
 * container in a namespace, with the same observable result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteDatastore } from '../../../src/datastore/sqlite.js';
import { ResourceClient } from '../../../src/datastore/resources.js';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';
import { cniEnv, runPlugin } from './cni-runtime.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('every installed form of the plugins behaves the same', () => {
  let lab: NetnsLab;
  let dir: string;
  let hostNs: string;
  let store: SqliteDatastore;
  let network: object;

  before(async () => {
    requireRootAndTools(['ip', 'nsenter']);
    lab = new NetnsLab();
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-cni-forms-'));
    hostNs = lab.addNamespace('host');
    store = await SqliteDatastore.open(join(dir, 'store.sqlite'));
    await new ResourceClient(store).create({
      apiVersion: 'projectcalico.org/v3',
      kind: 'IPPool',
      metadata: { name: 'formpool' },
      spec: { cidr: '10.44.0.0/24', blockSize: 28 },
    });
    network = {
      cniVersion: '1.0.0',
      name: 'formnet',
      type: 'calico',
      nodename: 'form-node',
      datastore_type: 'sqlite',
      sqlite_path: join(dir, 'store.sqlite'),
      ipam: { type: 'calico-ipam' },
    };
  });

  after(async () => {
    await store?.close();
    lab?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  for (const form of ['--source', '--bundle', '--snapshot'])
    test(`installed with ${form}: VERSION, ADD, CHECK, DEL`, async () => {
      const bin = join(dir, form.slice(2));
      execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', bin, form], { stdio: 'ignore' });
      const container = {
        id: `form${form.slice(2)}${lab.prefix}`,
        netns: `/run/netns/${lab.addNamespace(form.slice(2))}`,
      };
      const call = (command: string, config: object) =>
        runPlugin(hostNs, join(bin, 'calico'), cniEnv(command, container, [bin]), JSON.stringify(config));
      const version = await call('VERSION', { cniVersion: '0.4.0' });
      assert.deepEqual(version.json?.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0']);
      const add = await call('ADD', network);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.match(String((add.json?.ips as { address: string }[])[0]?.address), /^10\.44\.0\.\d+\/32$/);
      const check = await call('CHECK', { ...network, prevResult: add.json });
      assert.deepEqual([check.code, check.stdout], [0, ''], check.stdout);
      const del = await call('DEL', network);
      assert.deepEqual([del.code, del.stdout], [0, ''], del.stdout);
      const ipamVersion = await runPlugin(hostNs, join(bin, 'calico-ipam'), { CNI_COMMAND: 'VERSION' }, '{}');
      assert.equal(ipamVersion.code, 0);
    });
});
