/**
 * A handle record: which blocks hold addresses of one handle (one container, one tunnel, one use),
 * and how many in each. It exists so that "release everything of container X" visits only the
 * blocks that matter instead of every block in the cluster. As in Calico, an assignment counts the
 * addresses on the handle *before* writing the block, and takes the count back if the block write
 * fails; so a crash in between can leave a handle counting too many (harmless: releasing by handle
 * finds nothing more there) but never too few (which would hide an address from release).
 */
export interface HandleRecord {
  readonly handle: string;
  /** Block CIDR → number of addresses of this handle in it. Blocks with zero are left out. */
  readonly blocks: Readonly<Record<string, number>>;
}

/** Adds `delta` (may be negative) to a block's count; drops blocks that reach zero. */
export function adjustHandle(record: HandleRecord, blockCidr: string, delta: number): HandleRecord {
  const next = Math.max(0, (record.blocks[blockCidr] ?? 0) + delta);
  const blocks: Record<string, number> = { ...record.blocks };
  if (next === 0) delete blocks[blockCidr];
  else blocks[blockCidr] = next;
  return { handle: record.handle, blocks };
}

export function handleIsEmpty(record: HandleRecord): boolean {
  return Object.keys(record.blocks).length === 0;
}

export function handleTotal(record: HandleRecord): number {
  return Object.values(record.blocks).reduce((a, b) => a + b, 0);
}

export function decodeHandle(json: string): HandleRecord | string {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (e) {
    return `not JSON (${(e as Error).message})`;
  }
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const h = raw as Record<string, unknown>;
  if (typeof h.handle !== 'string') return 'handle is missing';
  if (typeof h.blocks !== 'object' || h.blocks === null) return 'blocks must be an object';
  return { handle: h.handle, blocks: h.blocks as Record<string, number> };
}

export function encodeHandle(record: HandleRecord): string {
  return JSON.stringify(record);
}
