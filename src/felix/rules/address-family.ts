/** The IP version of a CIDR or address text, remembered: rules and pools name a few texts on every render. */
import { parseIpOrCidr } from '../../net/ip.js';
import type { IpVersion } from '../model.js';

const familyMemo = new Map<string, IpVersion | undefined>();
export function familyOf(cidr: string): IpVersion | undefined {
  if (familyMemo.has(cidr)) return familyMemo.get(cidr);
  if (familyMemo.size >= 100_000) familyMemo.clear();
  const family = parseIpOrCidr(cidr)?.family;
  familyMemo.set(cidr, family);
  return family;
}
