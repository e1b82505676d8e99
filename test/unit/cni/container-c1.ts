/**
 * The CNI call the plugin unit tests make: container `c1` on network `net1` of node `node-a`, with
 * calico-ipam. The tests' expected handles (`net1.c1`) and host-side names follow from it.
 */
export const NETWORK = {
  cniVersion: '1.0.0',
  name: 'net1',
  type: 'calico',
  nodename: 'node-a',
  ipam: { type: 'calico-ipam' },
};

export const ENV = {
  CNI_CONTAINERID: 'c1',
  CNI_NETNS: '/run/netns/c1',
  CNI_IFNAME: 'eth0',
  CNI_PATH: '/nowhere',
};
