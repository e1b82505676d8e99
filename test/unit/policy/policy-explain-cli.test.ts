import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ctlSandbox, seedFile, type CtlSandbox } from '../../support/calicoctl.js';

const tenantFile = (name: string): string =>
  new URL(`../../../examples/tenant/${name}`, import.meta.url).pathname;
const explain = (port: string): string[] => [
  'policy',
  'explain',
  '--from',
  'slave1-frontend1',
  '--to',
  'slave2-database',
  '--protocol',
  'tcp',
  '--port',
  port,
];

describe("calicoctl policy explain with the seed's files", () => {
  let sb: CtlSandbox;
  before(async () => {
    sb = ctlSandbox();
    for (const f of ['endpoints.yaml', 'policy.yaml', 'profile.yaml']) {
      assert.equal((await sb.ctl('create', '-f', seedFile(f))).code, 0, f);
    }
  });
  after(() => sb.cleanup());

  test('frontend to database on 3306 is allowed by the namespace policy, and profiles are not consulted', async () => {
    const r = await sb.ctl(...explain('3306'));
    assert.equal(r.err, '');
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.ok(
      lines.includes('  tier default: GlobalNetworkPolicy namespace-default ingress rule 0 matches: Allow'),
      r.out,
    );
    assert.ok(lines.includes('  a policy applied, so profiles were not consulted: profile-database'), r.out);
    assert.equal(lines.at(-1), 'verdict: allow');
  });

  test('an unknown endpoint is a user error naming the flag', async () => {
    const r = await sb.ctl('policy', 'explain', '--from', 'nope', '--to', 'slave2-database', '--port', '1');
    assert.equal(r.code, 1);
    assert.match(r.err, /--from "nope" is neither an IP address nor the name of a WorkloadEndpoint/);
  });

  test('a port that is not a number is a user error', async () => {
    const r = await sb.ctl(...explain('http'));
    assert.equal(r.code, 1);
    assert.match(r.err, /--port "http" is not a number from 0 to 65535/);
  });
});

describe('calicoctl policy explain with the tenant example', () => {
  let sb: CtlSandbox;
  before(async () => {
    sb = ctlSandbox();
    for (const f of ['endpoints.yaml', 'policy.yaml', 'profile-database.yaml']) {
      assert.equal((await sb.ctl('create', '-f', tenantFile(f))).code, 0, f);
    }
  });
  after(() => sb.cleanup());

  test('frontend cannot reach database on 3306: profile-database rule 0 denies', async () => {
    const r = await sb.ctl(...explain('3306'));
    assert.equal(r.code, 0);
    const lines = r.out.trimEnd().split('\n');
    assert.ok(lines.includes('  no policy applied, profiles: profile-database'), r.out);
    assert.ok(lines.includes('  Profile profile-database ingress rule 0 matches: Deny'), r.out);
    assert.equal(lines.at(-1), 'verdict: deny');
  });

  test('after applying the fixed profile, 3306 is allowed by profile rule 0 and port 80 stays denied', async () => {
    assert.equal((await sb.ctl('apply', '-f', tenantFile('fixed/profile-database.yaml'))).code, 0);
    const open = (await sb.ctl(...explain('3306'))).out.trimEnd().split('\n');
    assert.ok(open.includes('  Profile profile-database ingress rule 0 matches: Allow'), open.join('\n'));
    assert.equal(open.at(-1), 'verdict: allow');
    const closed = (await sb.ctl(...explain('80'))).out.trimEnd().split('\n');
    assert.ok(closed.includes('  Profile profile-database ingress rule 1 matches: Deny'), closed.join('\n'));
    assert.equal(closed.at(-1), 'verdict: deny');
  });
});
