/**
 * Runs agent-scenario.ts (three in-process speakers) inside a fresh network namespace whose loopback
 * interface carries 10.0.0.1-3, so the speakers have real, distinct, non-loopback addresses and
 * nothing on the machine is touched. The scenario's own test output is passed through.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { NetnsLab, requireRootAndTools } from '../../support/netns.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCENARIO = fileURLToPath(new URL('./agent-scenario.ts', import.meta.url));

test('three in-process speakers: mesh, borrowed addresses, config changes, route reflection, graceful restart, removal', () => {
  requireRootAndTools(['ip']);
  const lab = new NetnsLab();
  try {
    const ns = lab.addNamespace('speakers');
    // On the namespace's own lo (this kernel has no dummy interfaces); they are still ordinary
    // unicast addresses, so BGP accepts them as next hops.
    for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3'])
      lab.exec(ns, 'ip', ['addr', 'add', `${a}/32`, 'dev', 'lo']);
    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', SCENARIO],
      // Without NODE_TEST_CONTEXT the child runs its tests instead of deferring to ours.
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 180_000,
        env: { ...process.env, NODE_TEST_CONTEXT: undefined },
      },
    );
    process.stdout.write(r.stdout);
    process.stderr.write(r.stderr);
    assert.equal(r.status, 0, 'every step of the scenario passed');
    assert.match(r.stdout, /ℹ pass 8\n/, 'all eight steps ran');
  } finally {
    lab.cleanup();
  }
});
