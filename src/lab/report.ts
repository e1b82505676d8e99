/**
 * `calico-lab report`: one self-contained HTML file (inline SVG and CSS, no scripts, no network)
 * with the topology (routers, switches, hosts, workloads, BGP sessions and their state), the
 * connectivity matrix (green delivered, red dropped, disagreements with policy explain marked)
 * and the route count of every device.
 */
import type { LabLayout } from './topology.js';
import type { MatrixCell } from './matrix.js';

export interface ReportSession {
  readonly from: string;
  readonly to: string;
  readonly state: string;
}

export interface ReportInput {
  readonly lab: string;
  readonly scenario: string;
  readonly description: string;
  readonly layout: LabLayout;
  readonly sessions: readonly ReportSession[];
  readonly cells: readonly MatrixCell[];
  readonly workloads: readonly string[];
  readonly routeCounts: readonly { device: string; routes: number }[];
  readonly lesson?: string;
  readonly generatedAt: string;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function topologySvg(input: ReportInput): string {
  const { layout } = input;
  const rows: { y: number; items: { id: string; label: string; kind: string }[] }[] = [
    {
      y: 50,
      items: layout.nodes
        .filter((n) => n.kind === 'router')
        .map((n) => ({ id: n.name, label: n.name, kind: 'router' })),
    },
    {
      y: 150,
      items: layout.switches.map((s) => ({
        id: `sw:${s.network}`,
        label: `${s.network} (L2)`,
        kind: 'switch',
      })),
    },
    {
      y: 250,
      items: layout.nodes
        .filter((n) => n.kind === 'host')
        .map((n) => ({ id: n.name, label: n.name, kind: 'host' })),
    },
    { y: 350, items: layout.workloads.map((w) => ({ id: `w:${w.name}`, label: w.name, kind: 'workload' })) },
  ].filter((r) => r.items.length > 0);
  const width = Math.max(640, ...rows.map((r) => r.items.length * 170 + 40));
  const pos = new Map<string, { x: number; y: number }>();
  rows.forEach((r, ri) => {
    const y = 50 + ri * 100;
    r.items.forEach((it, i) => pos.set(it.id, { x: ((i + 0.5) * width) / r.items.length, y }));
  });
  const height = rows.length * 100 + 20;
  const lines: string[] = [];
  for (const n of layout.nodes)
    for (const a of n.attachments) {
      const p = pos.get(n.name);
      const q = pos.get(`sw:${a.network}`);
      if (p && q) lines.push(`<line x1="${p.x}" y1="${p.y}" x2="${q.x}" y2="${q.y}" class="link"/>`);
    }
  for (const w of layout.workloads) {
    const p = pos.get(w.host);
    const q = pos.get(`w:${w.name}`);
    if (p && q) lines.push(`<line x1="${p.x}" y1="${p.y}" x2="${q.x}" y2="${q.y}" class="veth"/>`);
  }
  for (const s of input.sessions) {
    const p = pos.get(s.from);
    const q = pos.get(s.to);
    if (!p || !q) continue;
    const cls = /established/i.test(s.state) ? 'bgp up' : 'bgp down';
    lines.push(
      `<path d="M${p.x},${p.y} Q${(p.x + q.x) / 2},${Math.min(p.y, q.y) - 40} ${q.x},${q.y}" class="${cls}"><title>${esc(`${s.from} ↔ ${s.to}: ${s.state}`)}</title></path>`,
    );
  }
  const boxes = rows.flatMap((r) =>
    r.items.map((it) => {
      const p = pos.get(it.id) as { x: number; y: number };
      return `<g class="${it.kind}"><rect x="${p.x - 75}" y="${p.y - 16}" width="150" height="32" rx="6"/><text x="${p.x}" y="${p.y + 5}">${esc(it.label)}</text></g>`;
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${lines.join('')}${boxes.join('')}</svg>`;
}

function matrixTable(input: ReportInput): string {
  const probes = [...new Set(input.cells.map((c) => c.probe))];
  const head = `<tr><th>from \\ to</th>${input.workloads.map((w) => `<th>${esc(w)}</th>`).join('')}</tr>`;
  const body = input.workloads
    .map((from) => {
      const cells = input.workloads.map((to) => {
        if (from === to) return '<td class="self">·</td>';
        const marks = probes.map((p) => {
          const c = input.cells.find((x) => x.from === from && x.to === to && x.probe === p);
          if (!c) return '';
          const cls = `${c.actual ? 'allow' : 'deny'}${c.actual === c.predicted ? '' : ' disagree'}`;
          return `<span class="${cls}" title="${esc(`${p}: ${c.actual ? 'delivered' : 'dropped'}; explain says ${c.predicted ? 'allow' : 'deny'}`)}">${esc(p)} ${c.actual ? '✓' : '✗'}${c.actual === c.predicted ? '' : '!'}</span>`;
        });
        return `<td>${marks.join('<br>')}</td>`;
      });
      return `<tr><th>${esc(from)}</th>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table class="matrix">${head}${body}</table>`;
}

export function renderReport(input: ReportInput): string {
  const disagreements = input.cells.filter((c) => c.actual !== c.predicted).length;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>calico-lab ${esc(input.lab)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
.link { stroke: #888; stroke-width: 2; } .veth { stroke: #6a8; stroke-width: 2; stroke-dasharray: 4 3; }
.bgp { fill: none; stroke-width: 2.5; } .bgp.up { stroke: #2a7; } .bgp.down { stroke: #d33; stroke-dasharray: 6 4; }
g rect { stroke: #333; stroke-width: 1; } g text { text-anchor: middle; font-size: 12px; }
.router rect { fill: #fde2b8; } .switch rect { fill: #e4e4e4; } .host rect { fill: #cfe3ff; } .workload rect { fill: #dff3df; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
.matrix .allow { color: #fff; background: #2a7; padding: 0 4px; border-radius: 3px; }
.matrix .deny { color: #fff; background: #c33; padding: 0 4px; border-radius: 3px; }
.matrix .disagree { outline: 3px solid #f90; } .self { color: #aaa; text-align: center; }
.lesson { background: #fff7d6; border-left: 4px solid #e5b500; padding: 8px 12px; }
</style></head><body>
<h1>calico-lab: ${esc(input.lab)} (scenario ${esc(input.scenario)})</h1>
<p>${esc(input.description)}</p>
<h2>Topology</h2>
${topologySvg(input)}
<p>Green arcs: BGP sessions Established; red dashed: not established. Grey: L2 links; green dashed: workload veths.</p>
<h2>BGP sessions</h2>
<table><tr><th>from</th><th>to</th><th>state</th></tr>${input.sessions.map((s) => `<tr><td>${esc(s.from)}</td><td>${esc(s.to)}</td><td>${esc(s.state)}</td></tr>`).join('') || '<tr><td colspan="3">none (static routing)</td></tr>'}</table>
<h2>Connectivity</h2>
${matrixTable(input)}
<p>${disagreements === 0 ? `All ${input.cells.length} cells agree with <code>calicoctl policy explain</code>.` : `<strong>${disagreements} cell(s) disagree with policy explain</strong> (orange outline).`}</p>
${input.lesson ? `<p class="lesson">${esc(input.lesson)}</p>` : ''}
<h2>Routes per device</h2>
<table><tr><th>device</th><th>routes</th></tr>${input.routeCounts.map((r) => `<tr><td>${esc(r.device)}</td><td>${r.routes}</td></tr>`).join('')}</table>
<p><small>Generated ${esc(input.generatedAt)}.</small></p>
</body></html>
`;
}
