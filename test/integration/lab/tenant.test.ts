import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labMain } from '../../../src/lab/cli.js';
import { requireRootAndTools } from '../../support/netns.js';

describe('calico-lab runs the seed tenant scenarios and leaves nothing behind', () => {
  let dir: string;
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, CALICO_LAB_DIR: dir });
  const lab = `t${process.pid.toString(36)}`;
  const run = async (...args: string[]) => {
    let out = '';
    let err = '';
    const code = await labMain(args, { out: (t) => (out += t), err: (t) => (err += t), env: env() });
    return { code, out, err };
  };
  const leftovers = () =>
    spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .stdout.split('\n')
      .filter((l) => l.startsWith(`cl-${lab}-`));

  before(() => {
    requireRootAndTools(['ip', 'iptables-restore', 'ipset', 'nc', 'ping']);
    // Tests run from the TypeScript sources, so the lab starts calico-node through tsx too.
    process.env.CALICO_LAB_FROM_SOURCE = '1';
    dir = mkdtempSync(join(tmpdir(), 'calico-ts-lab-'));
  });

  after(async () => {
    await run('down', '--all');
    rmSync(dir, { recursive: true, force: true });
    delete process.env.CALICO_LAB_FROM_SOURCE;
  });

  test('tenant: the matrix agrees with policy explain and 3306 is closed, as the seed teaches', async () => {
    const up = await run('up', 'tenant', '--name', lab);
    assert.equal(up.code, 0, up.err);
    const report = await run('report', lab);
    assert.equal(report.code, 0, report.err);
    assert.match(report.out, /all 18 cells agree with policy explain/);
    assert.match(report.out, /observed: tcp\/3306 from slave1-frontend1 to slave2-database is CLOSED/);
    const html = readFileSync(`${join(dir, lab)}-report.html`, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /class="matrix"/);
    const routes = await run('routes', '--lab', lab);
    assert.match(routes.out, /^slave1 +\d+ routes$/m);
  });

  test('down removes every namespace and process of the lab', async () => {
    const state = JSON.parse(readFileSync(join(dir, lab, 'state.json'), 'utf8')) as {
      processes: { pid: number }[];
    };
    const down = await run('down', lab);
    assert.equal(down.code, 0, down.err);
    assert.deepEqual(leftovers(), []);
    for (const p of state.processes)
      assert.equal(existsSync(`/proc/${p.pid}`), false, `process ${p.pid} is gone`);
    assert.equal(existsSync(join(dir, lab)), false);
  });

  test('tenant-fixed: with the profile in the right order 3306 opens and 80 stays closed', async () => {
    assert.equal((await run('up', 'tenant-fixed', '--name', lab)).code, 0);
    const probe = await run('probe', lab);
    assert.match(probe.out, /all 18 cells agree with policy explain/);
    assert.match(probe.out, /observed: tcp\/3306 from slave1-frontend1 to slave2-database is OPEN/);
    assert.match(probe.out, /^slave1-frontend1 +· +✓ ✓ ✓ +✗ ✓ ✗$/m);
    assert.equal((await run('down', lab)).code, 0);
    assert.deepEqual(leftovers(), []);
  });

  test('a second up of the same lab is refused; an unknown scenario names the built-in ones', async () => {
    const bad = await run('up', 'no-such-scenario');
    assert.equal(bad.code, 1);
    assert.match(bad.err, /no scenario "no-such-scenario" \(built-in: .*tenant/);
  });
});
