import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadResources, type Resource } from '../../../src/api/index.js';
import {
  describeDecision,
  explainTraffic,
  formatExplanation,
  policyResourcesFrom,
  type ExplainRequest,
} from '../../../src/policy/index.js';

function load(...files: string[]): Resource[] {
  return files.flatMap((f) => {
    const result = loadResources(readFileSync(new URL(`../../../examples/${f}`, import.meta.url), 'utf8'));
    assert.deepEqual(result.problems, [], `${f} loads cleanly`);
    return result.resources.map((r) => r.resource);
  });
}

const TENANT = ['tenant/endpoints.yaml', 'tenant/policy.yaml', 'tenant/profile-database.yaml'];
const TENANT_FIXED = ['tenant/endpoints.yaml', 'tenant/policy.yaml', 'tenant/fixed/profile-database.yaml'];
const SEED = ['seed/endpoints.yaml', 'seed/policy.yaml', 'seed/profile.yaml'];

const frontendToDb = (port: number): ExplainRequest => ({
  from: 'slave1-frontend1',
  to: 'slave2-database',
  protocol: 'tcp',
  port,
});

/** Each row: files loaded, request, verdict, what decided ingress, a line the output must contain. */
const CASES: ReadonlyArray<{
  name: string;
  files: string[];
  request: ExplainRequest;
  verdict: 'allow' | 'deny';
  decidedBy: string;
  mentions: string;
}> = [
  {
    name: 'frontend cannot reach database on 3306 when the profile denies first',
    files: TENANT,
    request: frontendToDb(3306),
    verdict: 'deny',
    decidedBy: 'Profile profile-database rule 0 (Deny)',
    mentions: '  no policy applied, profiles: profile-database',
  },
  {
    name: 'frontend reaches database on 3306 once the profile allows first',
    files: TENANT_FIXED,
    request: frontendToDb(3306),
    verdict: 'allow',
    decidedBy: 'Profile profile-database rule 0 (Allow)',
    mentions: '  Profile profile-database ingress rule 0 matches: Allow',
  },
  {
    name: 'port 80 on the database stays closed with the fixed profile',
    files: TENANT_FIXED,
    request: frontendToDb(80),
    verdict: 'deny',
    decidedBy: 'Profile profile-database rule 1 (Deny)',
    mentions:
      '  Profile profile-database: rule 0 does not match: destination.ports 3306 (packet destination port 80)',
  },
  {
    name: 'the frontends talk to each other through the namespace policy',
    files: TENANT,
    request: { from: 'slave1-frontend1', to: '172.16.1.2', protocol: 'tcp', port: 8080 },
    verdict: 'allow',
    decidedBy: 'GlobalNetworkPolicy namespace-default rule 0 (Allow)',
    mentions: '  tier default: GlobalNetworkPolicy namespace-default ingress rule 0 matches: Allow',
  },
  {
    name: "with the seed's own files the policy selects the database and its profile is never consulted",
    files: SEED,
    request: frontendToDb(3306),
    verdict: 'allow',
    decidedBy: 'GlobalNetworkPolicy namespace-default rule 0 (Allow)',
    mentions: '  a policy applied, so profiles were not consulted: profile-database',
  },
  {
    name: "with the seed's own files port 80 is allowed too (the policy allows the whole namespace)",
    files: SEED,
    request: frontendToDb(80),
    verdict: 'allow',
    decidedBy: 'GlobalNetworkPolicy namespace-default rule 0 (Allow)',
    mentions: '  a policy applied, so profiles were not consulted: profile-database',
  },
];

describe('the seed tenant example explained', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const e = explainTraffic(policyResourcesFrom(load(...c.files)), c.request);
      const lines = formatExplanation(e);
      assert.equal(e.verdict, c.verdict);
      assert.equal(e.egress?.verdict, 'allow', 'the frontend may send');
      assert.ok(e.ingress, 'the database side is evaluated');
      assert.equal(describeDecision(e.ingress.decision), c.decidedBy);
      assert.ok(
        lines.includes(c.mentions),
        `output mentions ${JSON.stringify(c.mentions)}:\n${lines.join('\n')}`,
      );
      assert.equal(lines.at(-1), `verdict: ${c.verdict}`);
    });
  }

  test('the deciding profile rule is printed as YAML under its step', () => {
    const lines = formatExplanation(explainTraffic(policyResourcesFrom(load(...TENANT)), frontendToDb(3306)));
    const at = lines.indexOf('  Profile profile-database ingress rule 0 matches: Deny');
    assert.ok(at >= 0, lines.join('\n'));
    assert.equal(lines[at + 1], '    action: Deny');
  });

  test('the packet line names both endpoints, their addresses and the port', () => {
    const lines = formatExplanation(explainTraffic(policyResourcesFrom(load(...TENANT)), frontendToDb(3306)));
    assert.equal(
      lines[0],
      'packet: slave1-k8s-frontend-slave1--frontend1 (172.16.1.1) -> slave2-k8s-database-slave2--database (172.16.1.3), tcp port 3306',
    );
  });
});
