/**
 * The result of `calicoctl node checksystem` and how it is printed: one row per check with OK, WARN or
 * FAIL and the reason in words, then a verdict. Only a FAIL of a required check fails the command;
 * a WARN is something `node run` fixes itself (forwarding) or cannot tell, and an optional feature
 * (IPIP, VXLAN) that is missing is a FAIL that does not block.
 */
import { formatTable } from '../../cli/table.js';

export type CheckStatus = 'OK' | 'WARN' | 'FAIL';

export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly required: boolean;
  readonly detail: string;
}

export function requiredFailures(results: readonly CheckResult[]): CheckResult[] {
  return results.filter((r) => r.required && r.status === 'FAIL');
}

/** 1 when a required check failed, else 0: what checksystem exits with. */
export function checksystemExitCode(results: readonly CheckResult[]): 0 | 1 {
  return requiredFailures(results).length ? 1 : 0;
}

export function formatCheckReport(results: readonly CheckResult[]): string {
  const table = formatTable(
    ['CHECK', 'RESULT', 'REQUIRED', 'DETAIL'],
    results.map((r) => [r.name, r.status, r.required ? 'yes' : 'no', r.detail]),
  );
  const failed = requiredFailures(results);
  const optional = results.filter((r) => !r.required && r.status === 'FAIL');
  const verdict = failed.length
    ? `System is not able to run calico-node: ${failed.length} required check${failed.length > 1 ? 's' : ''} failed (${failed.map((f) => f.name).join(', ')})`
    : 'System meets the requirements to run calico-node';
  const extra = optional.length
    ? [`Optional features missing: ${optional.map((f) => f.detail).join('; ')}`]
    : [];
  return `${table}\n${[verdict, ...extra].join('\n')}\n`;
}
