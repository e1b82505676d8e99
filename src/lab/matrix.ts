/**
 * The connectivity matrix: every ordered pair of workloads, ICMP and each TCP port the scenario
 * names, probed with real packets, next to what `calicoctl policy explain` predicts for the same
 * cell. A disagreement means the dataplane and the policy model differ, which is a bug.
 */
import { explainTraffic, policyResourcesFrom } from '../policy/index.js';
import type { Resource } from '../api/types.js';
import { Listeners, probeIcmp, probeTcp } from './probe.js';

export interface MatrixWorkload {
  readonly name: string;
  readonly namespace: string;
  readonly ip: string;
}

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  readonly probe: string;
  readonly actual: boolean;
  readonly predicted: boolean;
}

export interface MatrixOptions {
  readonly icmp: boolean;
  readonly tcp: readonly number[];
  /** Probe again until the matrix agrees with the prediction or this much time passed. */
  readonly settleMs?: number;
}

export async function probeMatrix(
  workloads: readonly MatrixWorkload[],
  resources: readonly Resource[],
  opts: MatrixOptions,
): Promise<MatrixCell[]> {
  const policy = policyResourcesFrom(resources);
  const probes = [
    ...(opts.icmp ? [{ name: 'icmp' as const }] : []),
    ...opts.tcp.map((port) => ({ name: `tcp/${port}`, port })),
  ];
  const listeners = workloads.map((w) => new Listeners(w.namespace, opts.tcp));
  try {
    await new Promise((r) => setTimeout(r, 300));
    const deadline = Date.now() + (opts.settleMs ?? 5000);
    for (;;) {
      const cells = await Promise.all(
        workloads.flatMap((src) =>
          workloads
            .filter((d) => d !== src)
            .flatMap((dst) =>
              probes.map(async (p): Promise<MatrixCell> => {
                const port = 'port' in p ? p.port : undefined;
                const predicted =
                  explainTraffic(policy, {
                    from: src.name,
                    to: dst.name,
                    protocol: port ? 'tcp' : 'icmp',
                    ...(port ? { port } : {}),
                  }).verdict === 'allow';
                const actual = port
                  ? await probeTcp(src.namespace, dst.ip, port)
                  : await probeIcmp(src.namespace, dst.ip);
                return { from: src.name, to: dst.name, probe: p.name, actual, predicted };
              }),
            ),
        ),
      );
      if (cells.every((c) => c.actual === c.predicted) || Date.now() > deadline) return cells;
      await new Promise((r) => setTimeout(r, 500));
    }
  } finally {
    for (const l of listeners) l.stop();
  }
}

/** The matrix as text: rows are sources, columns destinations, one mark per probe. */
export function formatMatrix(workloads: readonly MatrixWorkload[], cells: readonly MatrixCell[]): string {
  const probes = [...new Set(cells.map((c) => c.probe))];
  const cellText = (from: string, to: string) => {
    if (from === to) return '·';
    return probes
      .map((p) => {
        const c = cells.find((x) => x.from === from && x.to === to && x.probe === p);
        if (!c) return '?';
        return (c.actual ? '✓' : '✗') + (c.actual === c.predicted ? '' : '!');
      })
      .join(' ');
  };
  const names = workloads.map((w) => w.name);
  const width = Math.max(...names.map((n) => n.length), probes.length * 3 + 2);
  const pad = (t: string) => t.padEnd(width + 2);
  const lines = [
    `connectivity: rows send, columns receive; each cell is ${probes.join(' ')}; ✓ delivered, ✗ dropped, ! disagrees with policy explain`,
    pad('') + names.map(pad).join('').trimEnd(),
    ...names.map((from) => (pad(from) + names.map((to) => pad(cellText(from, to))).join('')).trimEnd()),
  ];
  const bad = cells.filter((c) => c.actual !== c.predicted);
  lines.push(
    bad.length === 0
      ? `all ${cells.length} cells agree with policy explain`
      : `${bad.length} of ${cells.length} cells DISAGREE with policy explain:\n${bad.map((c) => `  ${c.from} → ${c.to} ${c.probe}: ${c.actual ? 'delivered' : 'dropped'}, explain says ${c.predicted ? 'allow' : 'deny'}`).join('\n')}`,
  );
  return lines.join('\n') + '\n';
}
