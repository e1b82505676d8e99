/**
 * `calico-lab report`: one self-contained HTML file (inline SVG and CSS, no scripts, no network)
 * with the topology (routers, switches, hosts, workloads, BGP sessions and their state), the
 * connectivity matrix (green delivered, red dropped, disagreements with policy explain marked)
 * and the route count of every device.
 *
 * Laid out for a screen and a screenshot (1400 px wide): the lesson and a one-line summary first,
 * then the topology and the matrix side by side when they fit (they wrap otherwise), then the BGP
 * sessions as compact chips and the route counts, so a long session list never pushes the matrix
 * out of view.
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
  /** Each workload's address, shown in its box; optional so a report can be made without a probe. */
  readonly workloadAddresses?: Readonly<Record<string, string>>;
  readonly routeCounts: readonly { device: string; routes: number }[];
  readonly lesson?: string;
  readonly generatedAt: string;
}

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const sessionUp = (s: ReportSession) => /established/i.test(s.state);

/** Pixels per character of the 12 px labels: enough to size a box around its label. */
const CHAR_WIDTH = 7;
const ROW_LABEL_WIDTH = 84;

interface TopologyItem {
  readonly id: string;
  readonly label: string;
  readonly detail?: string;
  readonly kind: 'router' | 'switch' | 'host' | 'workload';
}

function topologySvg(input: ReportInput): string {
  const { layout } = input;
  const nodeAddress = (name: string) =>
    layout.nodes.find((n) => n.name === name)?.attachments.map((a) => a.address)[0];
  const item = (id: string, label: string, kind: TopologyItem['kind'], detail?: string): TopologyItem =>
    detail ? { id, label, kind, detail } : { id, label, kind };
  const rows: { title: string; items: TopologyItem[] }[] = [
    {
      title: 'routers',
      items: layout.nodes
        .filter((n) => n.kind === 'router')
        .map((n) => item(n.name, n.name, 'router', nodeAddress(n.name))),
    },
    {
      title: 'L2 networks',
      items: layout.switches.map((s) => item(`sw:${s.network}`, s.network, 'switch')),
    },
    {
      title: 'hosts',
      items: layout.nodes
        .filter((n) => n.kind === 'host')
        .map((n) => item(n.name, n.name, 'host', nodeAddress(n.name))),
    },
    {
      title: 'workloads',
      items: layout.workloads.map((w) =>
        item(`w:${w.name}`, w.name, 'workload', input.workloadAddresses?.[w.name]),
      ),
    },
  ].filter((r) => r.items.length > 0);
  const boxWidth = Math.max(
    110,
    ...rows.flatMap((r) =>
      r.items.map((i) => Math.max(i.label.length, i.detail?.length ?? 0) * CHAR_WIDTH + 20),
    ),
  );
  const slot = boxWidth + 24;
  const width = ROW_LABEL_WIDTH + Math.max(420, ...rows.map((r) => r.items.length * slot));
  const rowGap = 96;
  const top = 48; // room for arcs between boxes of the first row
  const pos = new Map<string, { x: number; y: number }>();
  rows.forEach((r, ri) => {
    const y = top + ri * rowGap;
    const span = width - ROW_LABEL_WIDTH;
    r.items.forEach((it, i) =>
      pos.set(it.id, { x: ROW_LABEL_WIDTH + ((i + 0.5) * span) / r.items.length, y }),
    );
  });
  const height = top + (rows.length - 1) * rowGap + 40;
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
    const cls = sessionUp(s) ? 'bgp up' : 'bgp down';
    lines.push(
      `<path d="M${p.x},${p.y} Q${(p.x + q.x) / 2},${Math.min(p.y, q.y) - 40} ${q.x},${q.y}" class="${cls}"><title>${esc(`${s.from} ↔ ${s.to}: ${s.state}`)}</title></path>`,
    );
  }
  const titles = rows.map(
    (r, ri) => `<text x="4" y="${top + ri * rowGap + 4}" class="row-title">${esc(r.title)}</text>`,
  );
  const boxes = rows.flatMap((r) =>
    r.items.map((it) => {
      const p = pos.get(it.id) as { x: number; y: number };
      const h = it.detail ? 38 : 28;
      const label = it.detail
        ? `<text x="${p.x}" y="${p.y - 3}">${esc(it.label)}</text><text x="${p.x}" y="${p.y + 12}" class="detail">${esc(it.detail)}</text>`
        : `<text x="${p.x}" y="${p.y + 4}">${esc(it.label)}</text>`;
      return `<g class="${it.kind}"><rect x="${p.x - boxWidth / 2}" y="${p.y - h / 2}" width="${boxWidth}" height="${h}" rx="6"/>${label}</g>`;
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">${titles.join('')}${lines.join('')}${boxes.join('')}</svg>`;
}

function matrixTable(input: ReportInput): string {
  const probes = [...new Set(input.cells.map((c) => c.probe))];
  const head = `<tr><th class="corner">from ↓ to →</th>${input.workloads.map((w) => `<th>${esc(w)}</th>`).join('')}</tr>`;
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
        return `<td>${marks.join('')}</td>`;
      });
      return `<tr><th>${esc(from)}</th>${cells.join('')}</tr>`;
    })
    .join('');
  return `<table class="matrix">${head}${body}</table>`;
}

/** Each session once: both ends of a host-to-host session report it, usually in the same state. */
function uniqueSessions(sessions: readonly ReportSession[]): ReportSession[] {
  const seen = new Set<string>();
  return sessions.filter((s) => {
    const key = `${[s.from, s.to].sort().join('\u0000')}\u0000${s.state}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function sessionChips(sessions: readonly ReportSession[]): string {
  const chips = sessions.map(
    (s) =>
      `<span class="chip ${sessionUp(s) ? 'up' : 'down'}">${esc(s.from)} ↔ ${esc(s.to)} <b>${esc(s.state)}</b></span>`,
  );
  return chips.length ? `<div class="chips">${chips.join('')}</div>` : '<p>none (static routing)</p>';
}

/** Route counts as bars, longest = most routes: the number the seed worries about, at a glance. */
function routeBars(counts: ReportInput['routeCounts']): string {
  const most = Math.max(1, ...counts.map((c) => c.routes));
  const rows = counts.map(
    (c) =>
      `<tr><td>${esc(c.device)}</td><td class="count">${c.routes}</td><td><div class="bar" style="width:${Math.round((c.routes / most) * 200)}px"></div></td></tr>`,
  );
  return `<table class="routes">${rows.join('')}</table>`;
}

export function renderReport(input: ReportInput): string {
  const disagreements = input.cells.filter((c) => c.actual !== c.predicted).length;
  const delivered = input.cells.filter((c) => c.actual).length;
  const sessions = uniqueSessions(input.sessions);
  const up = sessions.filter(sessionUp).length;
  const hosts = input.layout.nodes.filter((n) => n.kind === 'host').length;
  const routers = input.layout.nodes.length - hosts;
  const summary = [
    `${hosts} host(s), ${routers} router(s), ${input.layout.workloads.length} workload(s)`,
    `${delivered} of ${input.cells.length} probes delivered`,
    disagreements === 0
      ? `<span class="ok">every cell agrees with policy explain</span>`
      : `<span class="bad">${disagreements} cell(s) disagree with policy explain</span>`,
    sessions.length ? `BGP: ${up} of ${sessions.length} sessions Established` : 'static routing (no BGP)',
  ].join(' · ');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>calico-lab ${esc(input.lab)}</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 20px 24px; color: #222; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 0 0 8px; }
.description { margin: 0 0 8px; color: #444; max-width: 110ch; }
.summary { margin: 0 0 12px; } .ok { color: #1a6; font-weight: 600; } .bad { color: #c33; font-weight: 600; }
.lesson { background: #fff7d6; border-left: 4px solid #e5b500; padding: 8px 12px; margin: 0 0 16px; max-width: 110ch; }
.panels { display: flex; flex-wrap: wrap; gap: 20px 40px; align-items: flex-start; margin-bottom: 20px; }
.panels > section { flex: 0 1 auto; max-width: 100%; overflow-x: auto; }
.legend { font-size: 12px; color: #555; margin: 6px 0 0; max-width: 70ch; }
.link { stroke: #888; stroke-width: 2; } .veth { stroke: #6a8; stroke-width: 2; stroke-dasharray: 4 3; }
.bgp { fill: none; stroke-width: 2.5; } .bgp.up { stroke: #3b8f5e; } .bgp.down { stroke: #d33; stroke-dasharray: 6 4; }
g rect { stroke: #333; stroke-width: 1; } g text { text-anchor: middle; font-size: 12px; } g text.detail { font-size: 10px; fill: #444; }
.row-title { font-size: 11px; fill: #777; font-style: italic; }
.router rect { fill: #fde2b8; } .switch rect { fill: #e4e4e4; } .host rect { fill: #cfe3ff; } .workload rect { fill: #dff3df; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
.matrix th.corner { font-weight: normal; color: #666; font-size: 12px; }
.matrix span { display: block; margin: 2px 0; color: #fff; padding: 0 6px; border-radius: 3px; white-space: nowrap; }
.matrix .allow { background: #2a7; } .matrix .deny { background: #c33; }
.matrix .disagree { outline: 3px solid #f90; } .self { color: #aaa; text-align: center; vertical-align: middle; }
.routes td { border: none; padding: 1px 8px 1px 0; } .routes td.count { text-align: right; }
.bar { height: 12px; background: #7a9cc6; border-radius: 2px; min-width: 2px; margin-top: 4px; }
.chips { display: flex; flex-wrap: wrap; gap: 4px 6px; max-width: 900px; }
.chip { border-radius: 12px; padding: 1px 10px; font-size: 12px; border: 1px solid; }
.chip.up { border-color: #3b8f5e; background: #eaf7f0; } .chip.down { border-color: #d33; background: #fdecec; }
</style></head><body>
<h1>calico-lab: ${esc(input.lab)} (scenario ${esc(input.scenario)})</h1>
<p class="description">${esc(input.description)}</p>
<p class="summary">${summary}</p>
${input.lesson ? `<p class="lesson">${esc(input.lesson)}</p>` : ''}
<div class="panels">
<section><h2>Topology</h2>
${topologySvg(input)}
<p class="legend">Grey lines: L2 links; green dashed: workload veths; green arcs: BGP sessions Established, red dashed: not established.</p>
</section>
<section><h2>Connectivity</h2>
${matrixTable(input)}
<p class="legend">Rows send, columns receive. <b style="color:#2a7">✓</b> delivered, <b style="color:#c33">✗</b> dropped; ! with an orange outline: the probe disagrees with <code>calicoctl policy explain</code>. ${disagreements === 0 ? `All ${input.cells.length} cells agree with it.` : `<strong>${disagreements} cell(s) disagree.</strong>`}</p>
</section>
</div>
<div class="panels">
<section><h2>BGP sessions</h2>
${sessionChips(sessions)}
</section>
<section><h2>Routes per device</h2>
${routeBars(input.routeCounts)}
</section>
</div>
<p><small>Generated ${esc(input.generatedAt)}.</small></p>
</body></html>
`;
}
