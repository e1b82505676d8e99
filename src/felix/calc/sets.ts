/**
 * Names for the ipsets that rules match on, shared by the calculation (which fills them) and the
 * rule renderer (which references them), so both derive the same name from the same rule field.
 *
 * - Selector sets (`cali40s:<id>` / `cali60s:<id>`): the addresses of every endpoint in the cluster
 *   that a rule's selector matches. In a namespaced NetworkPolicy the selector only sees the
 *   policy's namespace, so that scoping is part of what is hashed; a `namespaceSelector` too.
 * - Net sets (`cali40n:<id>`): a rule's `nets` / `notNets`, so a rule is one line however many nets.
 * - The IPAM pool sets Calico uses for NAT outgoing: all pools, and the natOutgoing ones.
 */
import crypto from 'node:crypto';
import type { EntityRule } from '../../api/types.js';
import type { IpVersion } from '../model.js';

export const ALL_POOLS_SET = { 4: 'cali40all-ipam-pools', 6: 'cali60all-ipam-pools' } as const;
export const MASQ_POOLS_SET = { 4: 'cali40masq-ipam-pools', 6: 'cali60masq-ipam-pools' } as const;

/** What a selector set selects: the selector, and the namespace scoping it is evaluated under. */
export interface SelectorSetKey {
  readonly selector: string;
  /** The policy's namespace for a NetworkPolicy rule without namespaceSelector. */
  readonly namespace?: string;
  readonly namespaceSelector?: string;
}

// One-shot `crypto.hash` (Node >= 20.12) is much cheaper than createHash for short texts; both give
// the same digest, so set names do not depend on which one ran.
const sha256 =
  typeof crypto.hash === 'function'
    ? (text: string) => crypto.hash('sha256', text, 'base64url')
    : (text: string) => crypto.createHash('sha256').update(text).digest('base64url');
const shortHash = (text: string) => sha256(text).slice(0, 22);

/**
 * Ids are asked for on every render of every rule, so they are remembered by their text. The memo
 * is dropped whole when it grows past a bound: ids are cheap to recompute, memory is not free.
 */
const idMemo = new Map<string, string>();
const MAX_MEMO = 100_000;
function memoHash(text: string): string {
  let id = idMemo.get(text);
  if (id === undefined) {
    if (idMemo.size >= MAX_MEMO) idMemo.clear();
    idMemo.set(text, (id = shortHash(text)));
  }
  return id;
}

export function selectorSetId(key: SelectorSetKey): string {
  return memoHash(`${key.selector}\u0000${key.namespace ?? ''}\u0000${key.namespaceSelector ?? ''}`);
}

export function selectorSetName(id: string, version: IpVersion): string {
  return `cali${version}0s:${id}`;
}

export function netSetId(nets: readonly string[]): string {
  // No NUL in this text, two in every selector key's: the one memo cannot confuse them.
  return memoHash([...nets].sort().join(','));
}

export function netSetName(id: string, version: IpVersion): string {
  return `cali${version}0n:${id}`;
}

/**
 * The selector sets one side of a rule needs: `selector` and `notSelector` (each combined with the
 * namespace scoping), or, for a bare `namespaceSelector`, all endpoints of the admitted namespaces.
 */
export function entitySelectorKeys(
  e: EntityRule | undefined,
  policyNamespace: string | undefined,
): { selector?: SelectorSetKey; notSelector?: SelectorSetKey } {
  if (!e) return {};
  const scope = (selector: string): SelectorSetKey =>
    e.namespaceSelector !== undefined
      ? { selector, namespaceSelector: e.namespaceSelector }
      : policyNamespace !== undefined
        ? { selector, namespace: policyNamespace }
        : { selector };
  const out: { selector?: SelectorSetKey; notSelector?: SelectorSetKey } = {};
  if (e.selector !== undefined) out.selector = scope(e.selector);
  else if (e.namespaceSelector !== undefined) out.selector = scope('all()');
  if (e.notSelector !== undefined) out.notSelector = scope(e.notSelector);
  return out;
}
