/**
 * One shared L2 segment for hosts in network namespaces: a bridge in a switch namespace, and each
 * host joined to it by a veth whose host end is `eth1`, with its addresses on the segment's /24 (and
 * /64). BGP peers on one LAN need nothing more: they reach each other directly, without routes.
 * The namespaces belong to the `NetnsLab`, whose `cleanup()` removes them.
 */
import type { NetnsLab } from './netns.js';

export class L2Segment {
  private readonly sw: string;

  constructor(private readonly lab: NetnsLab) {
    this.sw = lab.addNamespace('sw');
    lab.exec(this.sw, 'ip', ['link', 'add', 'br0', 'type', 'bridge']);
    lab.exec(this.sw, 'ip', ['link', 'set', 'br0', 'up']);
  }

  /** A new namespace on the segment with `address4`/24 (and `address6`/64) on eth1; its full name. */
  join(name: string, address4: string, address6?: string): string {
    const ns = this.lab.addNamespace(name);
    this.lab.veth({ ns, name: 'eth1' }, { ns: this.sw, name: `p-${name}` });
    this.lab.exec(this.sw, 'ip', ['link', 'set', `p-${name}`, 'master', 'br0']);
    this.lab.exec(ns, 'ip', ['addr', 'add', `${address4}/24`, 'dev', 'eth1']);
    if (address6 !== undefined)
      this.lab.exec(ns, 'ip', ['-6', 'addr', 'add', `${address6}/64`, 'dev', 'eth1', 'nodad']);
    return ns;
  }
}
