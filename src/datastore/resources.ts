/**
 * The typed resource client: v3 resources over the key-value `Datastore`. It owns the key layout
 * (DESIGN.md), the stored JSON form, and the resource-level rules that need the store: names are
 * unique per kind (and namespace), `resourceVersion` is the key's revision and makes updates
 * compare-and-swap, IP pools may not overlap. Everything written here was validated and defaulted.
 */
import { parseCidr, cidrsOverlap } from '../net/ip.js';
import { kindInfo, kindPrefix, resourceKey } from '../api/kinds.js';
import { assertValidResource } from '../api/validate.js';
import { withDefaults } from '../api/defaults.js';
import type { Resource, ResourceKind, ResourceOfKind } from '../api/types.js';
import { DatastoreError, KeyExistsError, KeyNotFoundError, RevisionConflictError } from './errors.js';
import type { Datastore, KVPair } from './types.js';
import { randomUUID } from 'node:crypto';

/** `IPPool(default-ipv4)` / `WorkloadEndpoint(default/x)`, as calicoctl names resources in messages. */
export function resourceId(kind: ResourceKind, name: string, namespace?: string): string {
  return kindInfo(kind).namespaced ? `${kind}(${namespace ?? 'default'}/${name})` : `${kind}(${name})`;
}

export class ResourceExistsError extends DatastoreError {
  constructor(readonly id: string) {
    super(`resource already exists: ${id}`);
  }
}

export class ResourceNotFoundError extends DatastoreError {
  constructor(readonly id: string) {
    super(`resource does not exist: ${id}`);
  }
}

export class ResourceConflictError extends DatastoreError {
  constructor(readonly id: string) {
    super(`update conflict: ${id} was modified by someone else since it was read; get it again and retry`);
  }
}

export class ResourceRuleError extends DatastoreError {}

/** The stored JSON omits resourceVersion: the revision of the key is the version. */
function encode(res: Resource): string {
  const { resourceVersion: _rv, ...metadata } = res.metadata;
  return JSON.stringify({ ...res, metadata });
}

export function decodeResource(kv: KVPair): Resource {
  const res = JSON.parse(kv.value) as Resource;
  res.metadata.resourceVersion = String(kv.revision);
  return res;
}

function revisionOf(res: Resource): number | undefined {
  const rv = res.metadata.resourceVersion;
  if (rv === undefined || rv === '') return undefined;
  const n = Number(rv);
  if (!Number.isInteger(n) || n <= 0)
    throw new ResourceRuleError(`metadata.resourceVersion: "${rv}" is not a resource version`);
  return n;
}

export class ResourceClient {
  constructor(readonly datastore: Datastore) {}

  private key(res: Resource): string {
    return resourceKey(res.kind, res.metadata.name, res.metadata.namespace);
  }

  private id(res: Resource): string {
    return resourceId(res.kind, res.metadata.name, res.metadata.namespace);
  }

  /** Checks that need other stored resources; throws ResourceRuleError. */
  private async checkRules(res: Resource): Promise<void> {
    if (res.kind === 'IPPool') {
      const mine = parseCidr(res.spec.cidr);
      if (!mine) return;
      for (const other of await this.list('IPPool')) {
        if (other.metadata.name === res.metadata.name) continue;
        const theirs = parseCidr(other.spec.cidr);
        if (theirs && cidrsOverlap(mine, theirs))
          throw new ResourceRuleError(
            `${this.id(res)}: spec.cidr "${res.spec.cidr}" overlaps with IPPool(${other.metadata.name}) "${other.spec.cidr}"`,
          );
      }
    }
  }

  /** Validates, applies defaults, and stores a new resource; fails if it exists. */
  async create<R extends Resource>(input: R): Promise<R> {
    assertValidResource(input);
    const res = withDefaults(input);
    res.metadata.uid ??= randomUUID();
    res.metadata.creationTimestamp ??= new Date().toISOString();
    delete res.metadata.resourceVersion;
    await this.checkRules(res);
    try {
      const kv = await this.datastore.create(this.key(res), encode(res));
      return decodeResource(kv) as R;
    } catch (e) {
      if (e instanceof KeyExistsError) throw new ResourceExistsError(this.id(res));
      throw e;
    }
  }

  /**
   * Replaces an existing resource. With metadata.resourceVersion set, only if nobody changed it since
   * (compare-and-swap); without, unconditionally. uid and creationTimestamp are kept.
   */
  async update<R extends Resource>(input: R): Promise<R> {
    assertValidResource(input);
    const res = withDefaults(input);
    const expected = revisionOf(res);
    const current = await this.datastore.get(this.key(res));
    if (!current) throw new ResourceNotFoundError(this.id(res));
    if (expected !== undefined && expected !== current.revision)
      throw new ResourceConflictError(this.id(res));
    const old = decodeResource(current);
    res.metadata.uid = old.metadata.uid ?? res.metadata.uid ?? randomUUID();
    res.metadata.creationTimestamp = old.metadata.creationTimestamp ?? res.metadata.creationTimestamp;
    await this.checkRules(res);
    try {
      const kv = await this.datastore.update(this.key(res), encode(res), expected ?? current.revision);
      return decodeResource(kv) as R;
    } catch (e) {
      if (e instanceof KeyNotFoundError) throw new ResourceNotFoundError(this.id(res));
      if (e instanceof RevisionConflictError) throw new ResourceConflictError(this.id(res));
      throw e;
    }
  }

  /** Creates the resource, or replaces it if it exists. */
  async apply<R extends Resource>(input: R): Promise<R> {
    const existing = await this.datastore.get(
      resourceKey(input.kind, input.metadata.name, input.metadata.namespace),
    );
    if (!existing) return this.create(input);
    return this.update(input);
  }

  async get<K extends ResourceKind>(
    kind: K,
    name: string,
    namespace?: string,
  ): Promise<ResourceOfKind<K> | undefined> {
    const kv = await this.datastore.get(resourceKey(kind, name, namespace));
    return kv ? (decodeResource(kv) as ResourceOfKind<K>) : undefined;
  }

  /** All resources of a kind, optionally in one namespace, sorted by namespace and name. */
  async list<K extends ResourceKind>(kind: K, namespace?: string): Promise<ResourceOfKind<K>[]> {
    const { items } = await this.datastore.list(kindPrefix(kind, namespace));
    return items.map((kv) => decodeResource(kv) as ResourceOfKind<K>);
  }

  async delete<K extends ResourceKind>(
    kind: K,
    name: string,
    namespace?: string,
    resourceVersion?: string,
  ): Promise<ResourceOfKind<K>> {
    const id = resourceId(kind, name, namespace);
    const expected = resourceVersion ? Number(resourceVersion) : undefined;
    try {
      const kv = await this.datastore.delete(resourceKey(kind, name, namespace), expected);
      return decodeResource(kv) as ResourceOfKind<K>;
    } catch (e) {
      if (e instanceof KeyNotFoundError) throw new ResourceNotFoundError(id);
      if (e instanceof RevisionConflictError) throw new ResourceConflictError(id);
      throw e;
    }
  }
}
