/**
 * The speaker's Prometheus metrics, in the shape calico-node's /metrics endpoint renders: sessions
 * by state, prefixes per peer, UPDATEs in and out, kernel routes. Derived from the status report
 * and the counters, so there is one source for `calicoctl node status` and for scraping.
 */
import type { FsmState } from '../session/index.js';
import type { BgpAgentMetrics } from './agent.js';
import type { SpeakerStatus } from './status.js';

export interface MetricSample {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge';
  readonly value: number;
  readonly labels?: Record<string, string>;
}

const STATES: readonly FsmState[] = ['Idle', 'Connect', 'Active', 'OpenSent', 'OpenConfirm', 'Established'];

export function bgpMetricSamples(
  status: SpeakerStatus | undefined,
  counters: BgpAgentMetrics,
): MetricSample[] {
  const out: MetricSample[] = [];
  const peers = status?.peers ?? [];
  for (const state of STATES) {
    out.push({
      name: 'bgp_sessions',
      help: 'BGP sessions by FSM state',
      type: 'gauge',
      value: peers.filter((p) => p.state === state).length,
      labels: { state },
    });
  }
  for (const p of peers) {
    const labels = { peer: p.address, type: p.type };
    out.push(
      {
        name: 'bgp_peer_prefixes_received',
        help: 'Prefixes received from the peer and accepted',
        type: 'gauge',
        value: p.routesAccepted,
        labels,
      },
      {
        name: 'bgp_peer_prefixes_stale',
        help: 'Stale prefixes kept for a restarting peer',
        type: 'gauge',
        value: p.routesStale,
        labels,
      },
      {
        name: 'bgp_peer_prefixes_advertised',
        help: 'Prefixes advertised to the peer',
        type: 'gauge',
        value: p.routesAdvertised,
        labels,
      },
      {
        name: 'bgp_peer_updates_received_total',
        help: 'UPDATE messages received from the peer',
        type: 'counter',
        value: p.updatesReceived,
        labels,
      },
      {
        name: 'bgp_peer_updates_sent_total',
        help: 'UPDATE messages sent to the peer',
        type: 'counter',
        value: p.updatesSent,
        labels,
      },
    );
  }
  out.push(
    {
      name: 'bgp_updates_received_total',
      help: 'UPDATE messages received from all peers',
      type: 'counter',
      value: counters.updatesReceived,
    },
    {
      name: 'bgp_updates_sent_total',
      help: 'UPDATE messages sent to all peers',
      type: 'counter',
      value: counters.updatesSent,
    },
    {
      name: 'bgp_kernel_routes',
      help: 'BGP routes in the kernel (proto 81)',
      type: 'gauge',
      value: status?.kernelRoutes ?? 0,
    },
    {
      name: 'bgp_originated_prefixes',
      help: 'Prefixes this node originates',
      type: 'gauge',
      value: status?.originated.length ?? 0,
    },
    {
      name: 'bgp_fib_sync_errors_total',
      help: 'Kernel route syncs with errors',
      type: 'counter',
      value: counters.fibErrors,
    },
  );
  return out;
}
