/** A kernel stand-in for the plugin logic: remembers what is wired, can be told to fail. */
import { CniError, CniErrorCode } from '../../../src/cni/spec.js';
import type { VethWiring, WorkloadDataplane } from '../../../src/cni/veth-wiring.js';

export class FakeDataplane implements WorkloadDataplane {
  readonly wired = new Map<string, VethWiring>();
  readonly calls: string[] = [];
  failAttach: CniError | undefined;

  async attach(w: VethWiring): Promise<void> {
    this.calls.push(`attach ${w.hostIface}`);
    if (this.failAttach) throw this.failAttach;
    if (this.wired.has(w.hostIface))
      throw new CniError(
        CniErrorCode.DataplaneFailure,
        'cannot create veth',
        `File exists (an interface named ${w.hostIface} on the host, or eth0 in the container, already exists)`,
      );
    this.wired.set(w.hostIface, w);
  }

  async detach(hostIface: string): Promise<void> {
    this.calls.push(`detach ${hostIface}`);
    this.wired.delete(hostIface);
  }

  async inspect(w: VethWiring): Promise<string[]> {
    const have = this.wired.get(w.hostIface);
    if (!have) return [`host interface ${w.hostIface} does not exist`];
    return JSON.stringify(have.addresses) === JSON.stringify(w.addresses) ? [] : ['addresses differ'];
  }
}
