/**
 * calico-node's health and metrics endpoint on loopback: `/readiness` and `/liveness` (200 or 503,
 * as Felix's health port answers) and `/metrics` in the Prometheus text format.
 */
import { createServer, type Server } from 'node:http';

export interface HealthSource {
  ready(): boolean;
  /** name → value, with HELP text; names follow Felix's (`felix_int_dataplane_apply_time_seconds`...). */
  metrics(): {
    name: string;
    help: string;
    type: 'counter' | 'gauge';
    value: number;
    labels?: Record<string, string>;
  }[];
}

export function renderMetrics(source: HealthSource): string {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const m of source.metrics()) {
    if (!seen.has(m.name)) {
      out.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
      seen.add(m.name);
    }
    const labels = m.labels
      ? `{${Object.entries(m.labels)
          .map(([k, v]) => `${k}="${v.replace(/"/g, '\\"')}"`)
          .join(',')}}`
      : '';
    out.push(`${m.name}${labels} ${m.value}`);
  }
  return out.join('\n') + '\n';
}

export function startHealthServer(source: HealthSource, port: number, host = '127.0.0.1'): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === '/readiness' || req.url === '/liveness') {
      const ok = req.url === '/liveness' || source.ready();
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(renderMetrics(source));
    } else res.writeHead(404).end();
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
