import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { checksystemExitCode, formatCheckReport, type CheckResult } from '../../../src/node/startup/index.js';

const ok = (name: string, detail = 'fine'): CheckResult => ({ name, status: 'OK', required: true, detail });
const IPIP_MISSING: CheckResult = {
  name: 'IPIP',
  status: 'FAIL',
  required: false,
  detail: 'IPIP is not available on this kernel (no ipip module); use VXLAN',
};

describe('checksystem report', () => {
  const cases: { name: string; results: CheckResult[]; exit: 0 | 1; verdict: string }[] = [
    {
      name: 'all OK passes',
      results: [ok('iptables'), ok('ipset')],
      exit: 0,
      verdict: 'System meets the requirements to run calico-node',
    },
    {
      name: 'a missing optional IPIP still passes',
      results: [ok('iptables'), IPIP_MISSING],
      exit: 0,
      verdict: 'System meets the requirements to run calico-node',
    },
    {
      name: 'a WARN on a required check still passes',
      results: [{ name: 'IPv4 forwarding', status: 'WARN', required: true, detail: 'off' }],
      exit: 0,
      verdict: 'System meets the requirements to run calico-node',
    },
    {
      name: 'a required FAIL fails and is named',
      results: [
        ok('iptables'),
        { name: 'ipset', status: 'FAIL', required: true, detail: 'ipset is not installed' },
        { name: 'conntrack', status: 'FAIL', required: true, detail: 'x' },
      ],
      exit: 1,
      verdict: 'System is not able to run calico-node: 2 required checks failed (ipset, conntrack)',
    },
  ];
  for (const c of cases)
    test(`${c.name} (exit ${c.exit})`, () => {
      assert.equal(checksystemExitCode(c.results), c.exit);
      assert.ok(formatCheckReport(c.results).includes(`\n${c.verdict}\n`), formatCheckReport(c.results));
    });

  test('prints an aligned table with the result, whether required, and the reason', () => {
    const text = formatCheckReport([ok('iptables', 'iptables v1.8.9 (nf_tables)'), IPIP_MISSING]);
    const [header, row1, row2] = text.split('\n');
    assert.equal(header, 'CHECK      RESULT   REQUIRED   DETAIL');
    assert.equal(row1, 'iptables   OK       yes        iptables v1.8.9 (nf_tables)');
    assert.equal(
      row2,
      'IPIP       FAIL     no         IPIP is not available on this kernel (no ipip module); use VXLAN',
    );
    assert.match(text, /Optional features missing: IPIP is not available on this kernel/);
  });
});
