import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlSandbox, type CtlSandbox } from '../../support/calicoctl.js';

// Only commands that print or refuse before touching the host run in-process here; node run itself
// changes sysctls, so its tests run inside namespaces (test/integration/node).
describe('calicoctl node run/diags/checksystem in the command tree', () => {
  let sb: CtlSandbox;
  before(() => (sb = ctlSandbox()));
  after(() => sb.cleanup());

  test('node --help lists run, diags and checksystem', async () => {
    const r = await sb.ctl('node', '--help');
    assert.equal(r.code, 0);
    for (const sub of ['run', 'diags', 'checksystem']) assert.match(r.out, new RegExp(`^  ${sub} `, 'm'));
  });

  test('--init-system prints a unit for this node and this store, and changes nothing', async () => {
    const r = await sb.ctl(
      'node',
      'run',
      '--init-system',
      '--name',
      'slave1',
      '--ip',
      '10.0.0.1',
      '--log-dir',
      '/srv/log',
    );
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.ok(lines.includes('[Service]'));
    assert.ok(lines.includes(`Environment=SQLITE_PATH=${sb.env.SQLITE_PATH}`), r.out);
    assert.ok(lines.includes('Environment=NODENAME=slave1'), r.out);
    assert.ok(lines.includes('StandardOutput=append:/srv/log/calico-node.log'), r.out);
    assert.match(r.out, /^ExecStart=\S+ .*calico-node\.(ts|js) --node slave1$/m);
    assert.match(
      r.out,
      /^ExecStartPre=\S+ .*calicoctl\.(ts|js) node run --startup-only --name slave1 --ip 10\.0\.0\.1$/m,
    );
    const nodes = await sb.ctl('get', 'nodes', '-o', 'yaml');
    assert.match(nodes.out, /items: \[\]/);
  });

  const refused: { name: string; args: string[]; env?: NodeJS.ProcessEnv; message: RegExp }[] = [
    {
      name: 'an unknown --backend',
      args: ['--backend', 'quagga'],
      message: /--backend "quagga" is not a networking backend \(use bird for BGP, or none\)/,
    },
    {
      name: 'a wait timeout that is not a number',
      args: ['--wait-timeout', 'soon'],
      message: /--wait-timeout "soon" is not a number of seconds/,
    },
    {
      name: 'an in-memory store, which calico-node could never see',
      args: [],
      env: { DATASTORE_TYPE: 'memory', SQLITE_PATH: '' },
      message: /cannot share an in-memory datastore/,
    },
  ];
  for (const c of refused)
    test(`node run refuses ${c.name}`, async () => {
      const saved = { ...sb.env };
      Object.assign(sb.env, c.env ?? {});
      try {
        const r = await sb.ctl('node', 'run', '--name', 'x', ...c.args);
        assert.equal(r.code, 1);
        assert.match(r.err, c.message);
        assert.equal(r.out, '', 'nothing was done');
      } finally {
        for (const k of Object.keys(sb.env)) delete sb.env[k];
        Object.assign(sb.env, saved);
      }
    });
});
