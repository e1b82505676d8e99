/**
 * IPAM's records over the `Datastore`: typed reads, and writes that are compare-and-swap on the
 * revision read. This is the only IPAM module that does I/O; the decisions are made in block.ts,
 * handle.ts and pools.ts.
 */
import { KeyExistsError, KeyNotFoundError, RevisionConflictError } from '../datastore/errors.js';
import type { Datastore } from '../datastore/types.js';
import type { Cidr, IpFamily } from '../net/ip.js';
import { blockTextIsFull, decodeBlock, encodeBlock, type AllocationBlock } from './block.js';
import { IpamConflictError, IpamCorruptRecordError } from './errors.js';
import { decodeHandle, encodeHandle, type HandleRecord } from './handle.js';
import {
  HANDLE_PREFIX,
  HOST_PREFIX,
  IPAM_CONFIG_KEY,
  affinityKey,
  blockKey,
  blockPrefix,
  handleKey,
  hostAffinityPrefix,
  parseAffinityKey,
  parseBlockKey,
} from './keys.js';

export interface Versioned<T> {
  readonly value: T;
  readonly revision: number;
}

export interface StoredBlock extends Versioned<AllocationBlock> {
  readonly cidr: Cidr;
}

/** Cluster-wide IPAM settings, Calico's IPAMConfig. */
export interface IpamConfig {
  /** Hosts may only use blocks affine to them: no borrowing from other hosts' blocks. */
  readonly strictAffinity: boolean;
  /** Hosts may claim new blocks (off: only borrowing and chosen addresses). */
  readonly autoAllocateBlocks: boolean;
}

export const DEFAULT_IPAM_CONFIG: IpamConfig = { strictAffinity: false, autoAllocateBlocks: true };

export class IpamStore {
  constructor(readonly datastore: Datastore) {}

  private decodeBlockAt(key: string, json: string): AllocationBlock {
    const b = decodeBlock(json);
    if (typeof b === 'string') throw new IpamCorruptRecordError(key, b);
    return b;
  }

  async getBlock(cidr: Cidr): Promise<StoredBlock | undefined> {
    const key = blockKey(cidr);
    const kv = await this.datastore.get(key);
    return kv ? { cidr, value: this.decodeBlockAt(key, kv.value), revision: kv.revision } : undefined;
  }

  /** The block if it exists and has a free address; a full block is recognised without parsing it. */
  async getBlockWithRoom(cidr: Cidr): Promise<StoredBlock | undefined> {
    const key = blockKey(cidr);
    const kv = await this.datastore.get(key);
    if (!kv || blockTextIsFull(kv.value)) return undefined;
    return { cidr, value: this.decodeBlockAt(key, kv.value), revision: kv.revision };
  }

  /** Every block of a family (both families when omitted), in key order. */
  async listBlocks(family?: IpFamily): Promise<StoredBlock[]> {
    const families: IpFamily[] = family === undefined ? [4, 6] : [family];
    const out: StoredBlock[] = [];
    for (const f of families) {
      const { items } = await this.datastore.list(blockPrefix(f));
      for (const kv of items) {
        const cidr = parseBlockKey(kv.key);
        if (!cidr) continue;
        out.push({ cidr, value: this.decodeBlockAt(kv.key, kv.value), revision: kv.revision });
      }
    }
    return out;
  }

  /**
   * Every block CIDR of a family, decoding only the blocks whose stored text passes `worthReading`
   * (a cheap substring test), so a scan for one host's blocks does not parse every block.
   */
  async scanBlocks(
    family: IpFamily,
    worthReading: (json: string) => boolean,
  ): Promise<{ cidrs: Cidr[]; read: StoredBlock[] }> {
    const { items } = await this.datastore.list(blockPrefix(family));
    const cidrs: Cidr[] = [];
    const read: StoredBlock[] = [];
    for (const kv of items) {
      const cidr = parseBlockKey(kv.key);
      if (!cidr) continue;
      cidrs.push(cidr);
      if (worthReading(kv.value))
        read.push({ cidr, value: this.decodeBlockAt(kv.key, kv.value), revision: kv.revision });
    }
    return { cidrs, read };
  }

  /** Fails with KeyExistsError when another writer created the block first. */
  async createBlock(cidr: Cidr, block: AllocationBlock): Promise<number> {
    return (await this.datastore.create(blockKey(cidr), encodeBlock(block))).revision;
  }

  /** Fails with RevisionConflictError (or KeyNotFoundError) when the block changed since `revision`. */
  async updateBlock(cidr: Cidr, block: AllocationBlock, revision: number): Promise<number> {
    return (await this.datastore.update(blockKey(cidr), encodeBlock(block), revision)).revision;
  }

  async deleteBlock(cidr: Cidr, revision: number): Promise<void> {
    await this.datastore.delete(blockKey(cidr), revision);
  }

  /** The block CIDRs this host's affinity index lists, for one family. */
  async hostAffinities(host: string, family: IpFamily): Promise<Cidr[]> {
    const { items } = await this.datastore.list(hostAffinityPrefix(host, family));
    const out: Cidr[] = [];
    for (const kv of items) {
      const parsed = parseAffinityKey(kv.key);
      if (parsed && parsed.host === host) out.push(parsed.cidr);
    }
    return out;
  }

  /** Every affinity index entry of every host. */
  async allAffinities(): Promise<{ host: string; cidr: Cidr }[]> {
    const { items } = await this.datastore.list(HOST_PREFIX);
    return items.flatMap((kv) => parseAffinityKey(kv.key) ?? []);
  }

  /** Records that `host` has the block; already recorded is fine. */
  async putAffinity(host: string, cidr: Cidr): Promise<void> {
    try {
      await this.datastore.create(affinityKey(host, cidr), JSON.stringify({ state: 'confirmed' }));
    } catch (e) {
      if (!(e instanceof KeyExistsError)) throw e;
    }
  }

  /** Removes the index entry; already gone is fine. */
  async deleteAffinity(host: string, cidr: Cidr): Promise<void> {
    try {
      await this.datastore.delete(affinityKey(host, cidr));
    } catch (e) {
      if (!(e instanceof KeyNotFoundError)) throw e;
    }
  }

  async getHandle(handle: string): Promise<Versioned<HandleRecord> | undefined> {
    const key = handleKey(handle);
    const kv = await this.datastore.get(key);
    if (!kv) return undefined;
    const h = decodeHandle(kv.value);
    if (typeof h === 'string') throw new IpamCorruptRecordError(key, h);
    return { value: h, revision: kv.revision };
  }

  async listHandles(): Promise<Versioned<HandleRecord>[]> {
    const { items } = await this.datastore.list(HANDLE_PREFIX);
    return items.map((kv) => {
      const h = decodeHandle(kv.value);
      if (typeof h === 'string') throw new IpamCorruptRecordError(kv.key, h);
      return { value: h, revision: kv.revision };
    });
  }

  /**
   * Writes a handle record: creates it when `revision` is undefined, deletes it when it holds
   * nothing, else replaces it. All three fail on a concurrent change.
   */
  async writeHandle(record: HandleRecord, revision: number | undefined): Promise<void> {
    const key = handleKey(record.handle);
    const empty = Object.keys(record.blocks).length === 0;
    if (revision === undefined) {
      if (!empty) await this.datastore.create(key, encodeHandle(record));
    } else if (empty) await this.datastore.delete(key, revision);
    else await this.datastore.update(key, encodeHandle(record), revision);
  }

  async getConfig(): Promise<Versioned<IpamConfig> | undefined> {
    const kv = await this.datastore.get(IPAM_CONFIG_KEY);
    if (!kv) return undefined;
    try {
      const raw = JSON.parse(kv.value) as Partial<IpamConfig>;
      return {
        value: {
          strictAffinity: raw.strictAffinity === true,
          autoAllocateBlocks: raw.autoAllocateBlocks !== false,
        },
        revision: kv.revision,
      };
    } catch (e) {
      throw new IpamCorruptRecordError(IPAM_CONFIG_KEY, (e as Error).message);
    }
  }

  async writeConfig(config: IpamConfig, revision: number | undefined): Promise<void> {
    const json = JSON.stringify(config);
    if (revision === undefined) await this.datastore.create(IPAM_CONFIG_KEY, json);
    else await this.datastore.update(IPAM_CONFIG_KEY, json, revision);
  }
}

/** A race with another writer: the record changed, appeared or vanished between read and write. */
export function isWriteRace(e: unknown): boolean {
  return e instanceof RevisionConflictError || e instanceof KeyExistsError || e instanceof KeyNotFoundError;
}

export interface RetryPolicy {
  /** Tries before giving up with IpamConflictError. */
  readonly maxAttempts: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
}

/**
 * Runs `attempt` until it completes without a write race, at most `maxAttempts` times. After the
 * first few lost races it waits a short random time (growing, capped at 20 ms) so that writers
 * contending for one block spread out instead of colliding in lockstep.
 */
export async function retryOnRace<T>(
  what: string,
  policy: RetryPolicy,
  attempt: () => Promise<T>,
): Promise<T> {
  let lastError: unknown;
  for (let i = 0; i < policy.maxAttempts; i++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isWriteRace(e)) throw e;
      lastError = e;
      if (i >= 2) await policy.sleep(policy.random() * Math.min(20, 2 ** (i - 2)));
    }
  }
  throw new IpamConflictError(
    `gave up ${what} after ${policy.maxAttempts} attempts: other writers kept changing the same IPAM records (last: ${(lastError as Error).message}); try again`,
  );
}
