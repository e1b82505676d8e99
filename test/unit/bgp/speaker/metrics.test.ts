import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bgpMetricSamples, type PeerStatus, type SpeakerStatus } from '../../../../src/bgp/speaker/index.js';

const peer = (address: string, state: PeerStatus['state'], accepted: number): PeerStatus => ({
  address,
  family: 'ipv4',
  type: 'node-to-node mesh',
  name: `Mesh_${address}`,
  asNumber: 64512,
  state,
  passive: false,
  since: 0,
  info: '',
  routesReceived: accepted,
  routesAccepted: accepted,
  routesStale: 0,
  routesAdvertised: 1,
  updatesReceived: 3,
  updatesSent: 2,
});

test('metrics: sessions by state, prefixes per peer, updates in and out', () => {
  const status: SpeakerStatus = {
    nodeName: 'a',
    routerId: '10.0.0.1',
    asNumber: 64512,
    listenPort: 179,
    peers: [peer('10.0.0.2', 'Established', 5), peer('10.0.0.3', 'Active', 0)],
    originated: ['10.65.0.0/26'],
    kernelRoutes: 5,
    selectionDeferred: false,
  };
  const samples = bgpMetricSamples(status, {
    updatesReceived: 3,
    updatesSent: 2,
    fibSyncs: 1,
    fibErrors: 0,
    resyncs: 0,
  });
  const value = (name: string, labels?: Record<string, string>) =>
    samples.find((s) => s.name === name && JSON.stringify(s.labels ?? {}) === JSON.stringify(labels ?? {}))
      ?.value;
  const TABLE: [string, Record<string, string> | undefined, number][] = [
    ['bgp_sessions', { state: 'Established' }, 1],
    ['bgp_sessions', { state: 'Active' }, 1],
    ['bgp_sessions', { state: 'Idle' }, 0],
    ['bgp_peer_prefixes_received', { peer: '10.0.0.2', type: 'node-to-node mesh' }, 5],
    ['bgp_peer_prefixes_advertised', { peer: '10.0.0.3', type: 'node-to-node mesh' }, 1],
    ['bgp_updates_received_total', undefined, 3],
    ['bgp_updates_sent_total', undefined, 2],
    ['bgp_kernel_routes', undefined, 5],
    ['bgp_originated_prefixes', undefined, 1],
  ];
  for (const [name, labels, want] of TABLE)
    assert.equal(value(name, labels), want, `${name} ${JSON.stringify(labels)}`);
});

test('metrics of a speaker with no plan yet: zero sessions, zero routes', () => {
  const samples = bgpMetricSamples(undefined, {
    updatesReceived: 0,
    updatesSent: 0,
    fibSyncs: 0,
    fibErrors: 0,
    resyncs: 0,
  });
  assert.equal(
    samples.filter((s) => s.name === 'bgp_sessions').every((s) => s.value === 0),
    true,
  );
  assert.equal(samples.find((s) => s.name === 'bgp_kernel_routes')?.value, 0);
});
