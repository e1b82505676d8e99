/**
 * scripts/install-cni.sh can install the plugins as tsx source, one esbuild bundle, or a V8 start-up
 * snapshot of that bundle. Each form must be the same plugin: VERSION, then ADD, CHECK and DEL of a
 * container in a namespace, with the same observable result.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireRootAndTools } from '../../support/netns.js';
import { cniEnv, runPlugin } from './cni-runtime.js';
import { openCniTestHost, type CniTestHost } from './cni-test-host.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

describe('every installed form of the plugins behaves the same', () => {
  let host: CniTestHost;
  let network: object;

  before(async () => {
    requireRootAndTools(['ip', 'nsenter']);
    host = await openCniTestHost({
      tmpPrefix: 'calico-ts-cni-forms-',
      pools: [{ name: 'formpool', cidr: '10.44.0.0/24', blockSize: 28 }],
      installPlugins: false,
    });
    network = host.network('formnet', 'form-node');
  });

  after(() => host?.close());

  for (const form of ['--source', '--bundle', '--snapshot'])
    test(`installed with ${form}: VERSION, ADD, CHECK, DEL`, async () => {
      const bin = join(host.dir, form.slice(2));
      execFileSync(join(ROOT, 'scripts/install-cni.sh'), ['--dest', bin, form], { stdio: 'ignore' });
      const container = host.newContainer(`form${form.slice(2)}`);
      const call = (command: string, config: object) =>
        runPlugin(
          host.hostNs,
          join(bin, 'calico'),
          cniEnv(command, container, [bin]),
          JSON.stringify(config),
        );
      const version = await call('VERSION', { cniVersion: '0.4.0' });
      assert.deepEqual(version.json?.supportedVersions, ['0.3.0', '0.3.1', '0.4.0', '1.0.0']);
      const add = await call('ADD', network);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.match(String((add.json?.ips as { address: string }[])[0]?.address), /^10\.44\.0\.\d+\/32$/);
      const check = await call('CHECK', { ...network, prevResult: add.json });
      assert.deepEqual([check.code, check.stdout], [0, ''], check.stdout);
      const del = await call('DEL', network);
      assert.deepEqual([del.code, del.stdout], [0, ''], del.stdout);
      const ipamVersion = await runPlugin(
        host.hostNs,
        join(bin, 'calico-ipam'),
        { CNI_COMMAND: 'VERSION' },
        '{}',
      );
      assert.equal(ipamVersion.code, 0);
    });
});
