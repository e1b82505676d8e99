/**
 * The desired dataplane as plain text, one line per rule, hook, set, route and interface, in the
 * order the renderer produced them: what "renders the same bytes" means when an optimisation of
 * the pure part is checked against the output before it (bench/felix/pure.ts --dump, and the
 * unit test that pins the synthetic cluster's output).
 */
import type { DesiredDataplane } from '../../src/felix/model.js';

export function dataplaneText(d: DesiredDataplane): string {
  const out: string[] = [];
  for (const v of [4, 6] as const) {
    for (const [table, chains] of Object.entries(d.iptables[v].chains))
      for (const c of chains) {
        out.push(`v${v} ${table} :${c.name}`);
        for (const r of c.rules) out.push(`  ${r.match} | ${r.action} | ${r.comment ?? ''}`);
      }
    for (const h of d.iptables[v].hooks)
      for (const r of h.rules) out.push(`v${v} hook ${h.table} ${h.chain} ${r.match} | ${r.action}`);
  }
  for (const s of d.ipsets) out.push(`ipset ${s.name} ${s.type} ${s.family} ${s.members.join(',')}`);
  for (const r of d.routes) out.push(`route ${JSON.stringify(r)}`);
  for (const i of d.interfaces) out.push(`iface ${i.name} ${i.family.join(',')}`);
  return out.join('\n') + '\n';
}
