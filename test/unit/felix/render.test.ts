import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { loadResources } from '../../../src/api/index.js';
import { FelixCalculator } from '../../../src/felix/calc/graph.js';
import { renderDataplane } from '../../../src/felix/rules/render.js';
import type { Chain, DesiredDataplane } from '../../../src/felix/model.js';

function load(...files: string[]) {
  return files.flatMap((f) =>
    loadResources(readFileSync(new URL(`../../../examples/${f}`, import.meta.url), 'utf8')).resources.map(
      (r) => r.resource,
    ),
  );
}

function calcFor(host: string, ...files: string[]): FelixCalculator {
  const calc = new FelixCalculator(host);
  for (const resource of load(...files)) calc.apply({ type: 'set', resource });
  return calc;
}

const chain = (dp: DesiredDataplane, name: string): Chain => {
  const c = dp.iptables[4].chains.filter.find((x) => x.name === name);
  assert.ok(c, `chain ${name} exists`);
  return c;
};
const lines = (c: Chain) =>
  c.rules.map((r) => [r.match, r.action, r.comment ? `# ${r.comment}` : ''].filter(Boolean).join(' '));

describe("Felix renders the seed's chain structure", () => {
  const seed = ['seed/endpoints.yaml', 'seed/policy.yaml', 'seed/profile.yaml'];

  test('slave2 (the database host): dispatch, then policy before profile, with the seed marks', () => {
    const dp = renderDataplane(calcFor('slave2', ...seed).state());
    assert.deepEqual(lines(chain(dp, 'cali-to-wl-dispatch')), [
      '-o cali0ef24b3 -g cali-tw-cali0ef24b3',
      '-j DROP # Unknown interface',
    ]);
    assert.deepEqual(lines(chain(dp, 'cali-tw-cali0ef24b3')), [
      '-j MARK --set-xmark 0x0/0x1000000',
      '-j MARK --set-xmark 0x0/0x2000000 # Start of policy',
      '-m mark --mark 0x0/0x2000000 -j cali-pi-namespace-default',
      '-m mark --mark 0x1000000/0x1000000 -j RETURN # Return if policy matches',
      '-m mark --mark 0x0/0x2000000 -j DROP # Drop if no policy matches',
      '-j cali-pri-profile-database',
      '-m mark --mark 0x1000000/0x1000000 -j RETURN # Return if profile matches',
      '-j DROP # Drop if no profile matches',
    ]);
    // The seed's profile denies first: its chain starts with DROP, the allow comes after.
    const pri = lines(chain(dp, 'cali-pri-profile-database'));
    assert.equal(pri[0], '-j DROP');
    assert.match(
      pri[1] ?? '',
      /^-p tcp -m set --match-set cali40s:\S+ src -m multiport --dports 3306 -j MARK --set-xmark 0x1000000\/0x1000000$/,
    );
    assert.deepEqual(lines(chain(dp, 'cali-pro-profile-database')), [
      '-j MARK --set-xmark 0x1000000/0x1000000',
      '-m mark --mark 0x1000000/0x1000000 -j RETURN',
    ]);
  });

  test('slave1 has the two frontends and no profile chain', () => {
    const dp = renderDataplane(calcFor('slave1', ...seed).state());
    assert.deepEqual(lines(chain(dp, 'cali-from-wl-dispatch')), [
      '-i cali0ef24b1 -g cali-fw-cali0ef24b1',
      '-i cali0ef24b2 -g cali-fw-cali0ef24b2',
      '-j DROP # Unknown interface',
    ]);
    assert.ok(!dp.iptables[4].chains.filter.some((c) => c.name.startsWith('cali-pri-')));
    assert.deepEqual(
      dp.routes.filter((r) => r.type === 'workload'),
      [
        { type: 'workload', dst: '172.16.1.1/32', dev: 'cali0ef24b1' },
        { type: 'workload', dst: '172.16.1.2/32', dev: 'cali0ef24b2' },
      ],
    );
  });

  test('the selector ipset holds every matching endpoint of the cluster, not only local ones', () => {
    const dp = renderDataplane(calcFor('slave2', ...seed).state());
    const sets = dp.ipsets.filter((s) => s.family === 4 && s.name.startsWith('cali40s:'));
    const members = sets.map((s) => [...s.members].sort().join(' ')).sort();
    assert.deepEqual(members, ['172.16.1.1/32 172.16.1.2/32', '172.16.1.1/32 172.16.1.2/32 172.16.1.3/32']);
  });

  test('conntrack first, then dispatch, in cali-FORWARD; hooks in the kernel chains', () => {
    const dp = renderDataplane(calcFor('slave1', ...seed).state());
    assert.deepEqual(lines(chain(dp, 'cali-FORWARD')).slice(0, 2), [
      '-m conntrack --ctstate INVALID -j DROP',
      '-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
    ]);
    assert.deepEqual(
      dp.iptables[4].hooks.map((h) => `${h.table}/${h.chain}`),
      [
        'raw/PREROUTING',
        'filter/INPUT',
        'filter/FORWARD',
        'filter/OUTPUT',
        'nat/PREROUTING',
        'nat/POSTROUTING',
        'nat/OUTPUT',
      ],
    );
    assert.deepEqual(lines(chain(dp, 'cali-wl-to-host')).slice(0, 2), [
      '-p udp -m multiport --sports 68 -m multiport --dports 67 -j ACCEPT # Allow DHCP',
      '-p udp -m multiport --dports 53 -j ACCEPT # Allow DNS',
    ]);
  });

  test('a label change moves an endpoint in or out of a selector set', () => {
    const calc = calcFor('slave2', ...seed);
    const before = renderDataplane(calc.state()).ipsets.find((s) => s.members.length === 2);
    assert.ok(before);
    const [fe2] = load('seed/endpoints.yaml')
      .filter((r) => r.kind === 'WorkloadEndpoint')
      .slice(1, 2);
    assert.ok(fe2 && fe2.kind === 'WorkloadEndpoint');
    calc.apply({
      type: 'set',
      resource: {
        ...fe2,
        metadata: { ...fe2.metadata, labels: { ...fe2.metadata.labels, service: 'batch' } },
      },
    });
    const after = renderDataplane(calc.state()).ipsets.find((s) => s.name === before.name);
    assert.deepEqual(after?.members, ['172.16.1.1/32']);
  });

  test('NAT outgoing: MASQUERADE from natOutgoing pools to outside all pools', () => {
    const calc = calcFor('slave1', ...seed, 'seed/ippool.yaml');
    const dp = renderDataplane(calc.state());
    const natOut = dp.iptables[4].chains.nat.find((c) => c.name === 'cali-nat-outgoing');
    assert.deepEqual(natOut?.rules, [
      {
        match: '-m set --match-set cali40masq-ipam-pools src -m set ! --match-set cali40all-ipam-pools dst',
        action: '-j MASQUERADE',
      },
    ]);
    assert.deepEqual(dp.ipsets.find((s) => s.name === 'cali40masq-ipam-pools')?.members, ['10.1.0.0/16']);
  });

  test('long policy names are hashed to 28 characters', () => {
    const calc = calcFor('slave1', 'seed/endpoints.yaml');
    calc.apply({
      type: 'set',
      resource: {
        apiVersion: 'projectcalico.org/v3',
        kind: 'GlobalNetworkPolicy',
        metadata: { name: 'a-policy-with-a-rather-long-descriptive-name' },
        spec: { selector: 'all()', ingress: [{ action: 'Allow' }], types: ['Ingress'] },
      },
    });
    const dp = renderDataplane(calc.state());
    const names = dp.iptables[4].chains.filter.map((c) => c.name);
    assert.ok(
      names.every((n) => n.length <= 28),
      names.filter((n) => n.length > 28).join(','),
    );
    assert.ok(names.some((n) => n.startsWith('cali-pi-_')));
  });
});
