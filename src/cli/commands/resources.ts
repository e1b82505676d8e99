/**
 * calicoctl's resource verbs: create, apply, replace, delete (from files or by name), get, label and
 * convert. Files are read whole and every document is checked before anything is written; a write
 * that fails half-way is undone, so a command either does all of its work or none of it.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { kindInfo, lookupKind, knownKindNames } from '../../api/kinds.js';
import { loadResources, toJson, toYaml, type LoadedResource } from '../../api/codec.js';
import { effectiveBgpConfig } from '../../api/defaults.js';
import type { Resource, ResourceKind } from '../../api/types.js';
import { API_VERSION } from '../../api/types.js';
import { resourceId, type ResourceClient } from '../../datastore/resources.js';
import { tableFor } from '../columns.js';
import { formatTable } from '../table.js';
import { CliContext, CliError } from '../context.js';
import { deleteWithIpamRules } from './ipam.js';

type Verb = 'create' | 'apply' | 'replace' | 'delete';
const PAST: Record<Verb, string> = {
  create: 'created',
  apply: 'applied',
  replace: 'replaced',
  delete: 'deleted',
};

async function readInput(ctx: CliContext, file: string): Promise<string> {
  if (file === '-') return ctx.io.readStdin();
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
}

/**
 * Loads the documents of one or more files (`-f a.yaml -f b.yaml`), or fails listing every problem
 * of every file; nothing is written either way.
 */
async function loadFile(
  ctx: CliContext,
  files: string | readonly string[],
  verb: Verb | 'convert',
): Promise<LoadedResource[]> {
  const list = typeof files === 'string' ? [files] : files;
  const shown = (f: string) => (f === '-' ? 'stdin' : f);
  const resources: LoadedResource[] = [];
  const problems: string[] = [];
  let total = 0;
  let bad = 0;
  for (const file of list) {
    const loaded = loadResources(await readInput(ctx, file));
    total += loaded.resources.length + loaded.problems.length;
    bad += loaded.problems.length;
    resources.push(...loaded.resources);
    for (const p of loaded.problems)
      problems.push(
        `${list.length > 1 ? `${shown(file)}: ` : ''}${p.label}:`,
        ...p.problems.map((m) => `  ${m}`),
      );
  }
  if (bad) {
    throw new CliError(
      `Failed to ${verb} any resources: ${bad} of ${total} document(s) in ${list.map(shown).join(', ')} ${bad === 1 ? 'is' : 'are'} invalid, so nothing was ${verb === 'convert' ? 'converted' : 'written'}:\n${problems.join('\n')}`,
    );
  }
  if (resources.length === 0) throw new CliError(`no resources found in ${list.map(shown).join(', ')}`);
  return resources;
}

/** Commander collector for a repeatable `-f`. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** `'workloadEndpoint'` as the user wrote the kind (v1 or v3), or nothing when kinds are mixed. */
function kindLabel(loaded: readonly LoadedResource[]): string {
  const kinds = new Set(loaded.map((l) => l.resource.kind));
  if (kinds.size !== 1) return '';
  const first = loaded[0];
  if (!first) return '';
  const info = kindInfo(first.resource.kind);
  return ` '${first.format === 'v1' && info.v1Kind ? info.v1Kind : info.kind}'`;
}

const idOf = (r: Resource) => resourceId(r.kind, r.metadata.name, r.metadata.namespace);

interface FileOptions {
  filename: string[];
  skipExists?: boolean;
  skipNotExists?: boolean;
}

async function runFileVerb(ctx: CliContext, verb: Verb, opts: FileOptions): Promise<void> {
  const loaded = await loadFile(ctx, opts.filename, verb);
  const client = await ctx.client();
  // Look before writing, so an existing (or missing) resource refuses the whole file.
  const existing = await Promise.all(
    loaded.map((l) => client.get(l.resource.kind, l.resource.metadata.name, l.resource.metadata.namespace)),
  );
  const skipped = new Set<number>();
  loaded.forEach((l, i) => {
    const there = existing[i] !== undefined;
    if (verb === 'create' && there) {
      if (opts.skipExists) skipped.add(i);
      else throw new CliError(`Failed to create any resources: resource already exists: ${idOf(l.resource)}`);
    }
    if ((verb === 'replace' || verb === 'delete') && !there) {
      if (verb === 'delete' && opts.skipNotExists) skipped.add(i);
      else
        throw new CliError(`Failed to ${verb} any resources: resource does not exist: ${idOf(l.resource)}`);
    }
  });
  const undo: (() => Promise<unknown>)[] = [];
  let done = 0;
  try {
    for (const [i, l] of loaded.entries()) {
      if (skipped.has(i)) continue;
      const r = l.resource;
      const before = existing[i];
      if (verb === 'delete') {
        await deleteWithIpamRules(ctx, client, r.kind, r.metadata.name, r.metadata.namespace);
        if (before) undo.push(() => client.create(stripVersion(before)));
      } else if (verb === 'create' || (verb === 'apply' && !before)) {
        await client.create(r);
        undo.push(() => client.delete(r.kind, r.metadata.name, r.metadata.namespace));
      } else {
        await client.update(r);
        if (before) undo.push(() => client.update(stripVersion(before)));
      }
      done++;
    }
  } catch (e) {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    throw new CliError(`Failed to ${verb} any resources: ${(e as Error).message}`);
  }
  const skippedNote = skipped.size
    ? ` (${skipped.size} skipped: ${verb === 'create' ? 'already exist' : 'do not exist'})`
    : '';
  ctx.out(`Successfully ${PAST[verb]} ${done}${kindLabel(loaded)} resource(s)${skippedNote}`);
}

function stripVersion<R extends Resource>(r: R): R {
  const copy = structuredClone(r);
  delete copy.metadata.resourceVersion;
  return copy;
}

function kindOrFail(name: string): ResourceKind {
  const info = lookupKind(name);
  if (!info)
    throw new CliError(`resource type '${name}' is not supported (known: ${knownKindNames().join(', ')})`);
  return info.kind;
}

interface GetOptions {
  output: string;
  node?: string;
  workload?: string;
  orchestrator?: string;
  scope?: string;
  namespace?: string;
  allNamespaces?: boolean;
  filename?: string[];
}

/** Finds resources by name; a workload endpoint may also be named by its endpoint (the v1 name). */
async function findByName(
  client: ResourceClient,
  kind: ResourceKind,
  name: string,
  ns?: string,
): Promise<Resource | undefined> {
  const direct = await client.get(kind, name, ns);
  if (direct || kind !== 'WorkloadEndpoint') return direct;
  const matches = (await client.list('WorkloadEndpoint', ns)).filter((w) => w.spec.endpoint === name);
  if (matches.length > 1)
    throw new CliError(
      `'${name}' names ${matches.length} workload endpoints; use the full name (get wep -o wide shows it)`,
    );
  return matches[0];
}

function applyFilters(kind: ResourceKind, items: Resource[], o: GetOptions): Resource[] {
  return items.filter((r) => {
    if (o.node !== undefined) {
      const node =
        r.kind === 'WorkloadEndpoint' || r.kind === 'HostEndpoint' || r.kind === 'BGPPeer'
          ? r.spec.node
          : r.kind === 'Node'
            ? r.metadata.name
            : undefined;
      if (node !== o.node) return false;
    }
    if (
      o.workload !== undefined &&
      !(r.kind === 'WorkloadEndpoint' && (r.spec.workload === o.workload || r.spec.pod === o.workload))
    )
      return false;
    if (
      o.orchestrator !== undefined &&
      !(r.kind === 'WorkloadEndpoint' && r.spec.orchestrator === o.orchestrator)
    )
      return false;
    if (o.scope !== undefined) {
      if (kind !== 'BGPPeer') return true;
      const scope = r.kind === 'BGPPeer' && (r.spec.node || r.spec.nodeSelector) ? 'node' : 'global';
      if (scope !== o.scope) return false;
    }
    return true;
  });
}

function checkFilters(kind: ResourceKind, o: GetOptions): void {
  const allowed: Record<string, ResourceKind[]> = {
    node: ['WorkloadEndpoint', 'HostEndpoint', 'BGPPeer', 'Node'],
    workload: ['WorkloadEndpoint'],
    orchestrator: ['WorkloadEndpoint'],
    scope: ['BGPPeer'],
  };
  for (const [flag, kinds] of Object.entries(allowed)) {
    if (o[flag as keyof GetOptions] !== undefined && !kinds.includes(kind))
      throw new CliError(`--${flag} does not apply to ${kind} (it filters ${kinds.join(', ')})`);
  }
  if (o.scope !== undefined && o.scope !== 'node' && o.scope !== 'global')
    throw new CliError(`--scope must be "node" or "global", not "${o.scope}"`);
}

async function runGet(
  ctx: CliContext,
  kindName: string | undefined,
  names: string[],
  o: GetOptions,
): Promise<void> {
  const client = await ctx.client();
  let items: Resource[];
  let kind: ResourceKind;
  let single = false;
  if (o.filename) {
    const loaded = await loadFile(ctx, o.filename, 'convert');
    items = [];
    for (const l of loaded) {
      const r = await client.get(l.resource.kind, l.resource.metadata.name, l.resource.metadata.namespace);
      if (!r) throw new CliError(`resource does not exist: ${idOf(l.resource)}`);
      items.push(r);
    }
    kind = items[0]?.kind ?? 'Node';
    single = items.length === 1;
  } else {
    if (!kindName) throw new CliError('get needs a resource type (e.g. calicoctl get ippool) or -f FILE');
    kind = kindOrFail(kindName);
    checkFilters(kind, o);
    const ns = kindInfo(kind).namespaced && !o.allNamespaces ? o.namespace : undefined;
    if (names.length) {
      items = [];
      for (const n of names) {
        const r = await findByName(client, kind, n, ns);
        if (!r)
          throw new CliError(
            `resource does not exist: ${resourceId(kind, n, kindInfo(kind).namespaced ? (ns ?? 'default') : undefined)}`,
          );
        items.push(r);
      }
      single = names.length === 1;
    } else {
      items = applyFilters(kind, await client.list(kind, ns), o);
    }
  }
  switch (o.output) {
    case 'yaml':
    case 'json': {
      const body = single
        ? items[0]
        : {
            apiVersion: API_VERSION,
            kind: `${kind}List`,
            items,
            metadata: { resourceVersion: String(await (await ctx.datastore()).currentRevision()) },
          };
      ctx.io.stdout(o.output === 'yaml' ? toYaml(body) : toJson(body));
      return;
    }
    case 'ps':
    case 'wide': {
      const bgp = await client.get('BGPConfiguration', 'default');
      const { headers, rows } = tableFor(kind, o.output === 'wide', items, {
        globalAsNumber: effectiveBgpConfig(bgp?.spec).asNumber,
      });
      ctx.io.stdout(formatTable(headers, rows));
      return;
    }
    default:
      throw new CliError(`unknown output format "${o.output}" (use ps, wide, yaml or json)`);
  }
}

async function runDeleteByName(
  ctx: CliContext,
  kindName: string,
  names: string[],
  o: { namespace?: string; skipNotExists?: boolean },
): Promise<void> {
  const kind = kindOrFail(kindName);
  const client = await ctx.client();
  const ns = kindInfo(kind).namespaced ? o.namespace : undefined;
  const targets: Resource[] = [];
  for (const n of names) {
    const r = await findByName(client, kind, n, ns);
    if (!r) {
      if (o.skipNotExists) continue;
      throw new CliError(
        `Failed to delete any resources: resource does not exist: ${resourceId(kind, n, kindInfo(kind).namespaced ? (ns ?? 'default') : undefined)}`,
      );
    }
    targets.push(r);
  }
  for (const r of targets)
    await deleteWithIpamRules(ctx, client, r.kind, r.metadata.name, r.metadata.namespace);
  ctx.out(`Successfully deleted ${targets.length} '${kind}' resource(s)`);
}

async function runLabel(
  ctx: CliContext,
  kindName: string,
  name: string,
  specs: string[],
  o: { overwrite?: boolean; remove?: string; namespace?: string },
): Promise<void> {
  const kind = kindOrFail(kindName);
  const client = await ctx.client();
  const res = await findByName(client, kind, name, kindInfo(kind).namespaced ? o.namespace : undefined);
  if (!res) throw new CliError(`resource does not exist: ${resourceId(kind, name, o.namespace)}`);
  const labels = { ...(res.metadata.labels ?? {}) };
  const messages: string[] = [];
  const removals = [
    ...(o.remove ? [o.remove] : []),
    ...specs.filter((s) => s.endsWith('-') && !s.includes('=')).map((s) => s.slice(0, -1)),
  ];
  for (const key of removals) {
    if (!(key in labels))
      throw new CliError(
        `cannot remove label ${key}: ${resourceId(kind, res.metadata.name, res.metadata.namespace)} has no such label`,
      );
    delete labels[key];
    messages.push(`Successfully removed label ${key} from ${kindInfo(kind).plural} ${name}`);
  }
  for (const s of specs.filter((x) => x.includes('='))) {
    const eq = s.indexOf('=');
    const key = s.slice(0, eq);
    const value = s.slice(eq + 1);
    if (key in labels && labels[key] !== value && !o.overwrite)
      throw new CliError(`label ${key} is already set to "${labels[key]}"; use --overwrite to change it`);
    labels[key] = value;
    messages.push(`Successfully set label ${key} on ${kindInfo(kind).plural} ${name}`);
  }
  if (!messages.length)
    throw new CliError('label needs key=value to set, or key- (or --remove key) to remove');
  await client.update({ ...res, metadata: { ...res.metadata, labels } });
  messages.forEach((m) => ctx.out(m));
}

async function runConvert(ctx: CliContext, o: { filename: string[]; output: string }): Promise<void> {
  const loaded = await loadFile(ctx, o.filename, 'convert');
  const docs = loaded.map((l) => l.resource);
  if (o.output === 'json') {
    ctx.io.stdout(
      toJson(docs.length === 1 ? docs[0] : { apiVersion: API_VERSION, kind: 'List', items: docs }),
    );
  } else if (o.output === 'yaml') {
    ctx.io.stdout(docs.map((d) => toYaml(d)).join('---\n'));
  } else throw new CliError(`unknown output format "${o.output}" (use yaml or json)`);
}

export function registerResourceCommands(program: Command, ctx: CliContext): void {
  for (const verb of ['create', 'apply', 'replace'] as const) {
    const cmd = program
      .command(verb)
      .description(`${verb[0]?.toUpperCase()}${verb.slice(1)} resources from a YAML or JSON file (v1 or v3)`)
      .requiredOption(
        '-f, --filename <file>',
        'file with one or more resources, - for stdin (repeatable)',
        collect,
      );
    if (verb === 'create')
      cmd.option('--skip-exists', 'skip resources that already exist instead of failing');
    cmd.action((o: FileOptions) => runFileVerb(ctx, verb, o));
  }
  program
    .command('delete')
    .description('Delete resources by type and name, or those in a file')
    .argument('[kind]', 'resource type')
    .argument('[names...]', 'resource names')
    .option('-f, --filename <file>', 'file with the resources to delete, - for stdin (repeatable)', collect)
    .option('-n, --namespace <ns>', 'namespace of a namespaced resource')
    .option('--skip-not-exists', 'succeed for resources that do not exist')
    .action(async (kind: string | undefined, names: string[], o: FileOptions & { namespace?: string }) => {
      if (o.filename?.length) return runFileVerb(ctx, 'delete', o);
      if (!kind || names.length === 0)
        throw new CliError('delete needs -f FILE, or a resource type and name');
      return runDeleteByName(ctx, kind, names, o);
    });
  program
    .command('get')
    .description('Show resources')
    .argument(
      '[kind]',
      'resource type: node, bgpPeer, ipPool, policy, profile, workloadEndpoint, hostEndpoint, ...',
    )
    .argument('[names...]', 'resource names')
    .option('-o, --output <format>', 'ps, wide, yaml or json', 'ps')
    .option('-f, --filename <file>', 'get the resources named in a file (repeatable)', collect)
    .option('--node <node>', 'only resources of this node')
    .option('--workload <workload>', 'only workload endpoints of this workload')
    .option('--orchestrator <orchestrator>', 'only workload endpoints of this orchestrator')
    .option('--scope <scope>', 'only BGP peers of this scope: node or global')
    .option('-n, --namespace <ns>', 'only this namespace (namespaced kinds)')
    .option('-A, --all-namespaces', 'all namespaces (the default when -n is not given)')
    .action((kind: string | undefined, names: string[], o: GetOptions) => runGet(ctx, kind, names, o));
  program
    .command('label')
    .description('Set or remove labels on a resource: key=value to set, key- to remove')
    .argument('<kind>')
    .argument('<name>')
    .argument('[labels...]')
    .option('--overwrite', 'allow changing an existing label')
    .option('--remove <key>', 'remove this label')
    .option('-n, --namespace <ns>', 'namespace of a namespaced resource')
    .action(
      (
        kind: string,
        name: string,
        labels: string[],
        o: { overwrite?: boolean; remove?: string; namespace?: string },
      ) => runLabel(ctx, kind, name, labels, o),
    );
  program
    .command('convert')
    .description("Convert resources from the seed's v1 format (or v3) to v3, printed to stdout")
    .requiredOption('-f, --filename <file>', 'file to convert, - for stdin (repeatable)', collect)
    .option('-o, --output <format>', 'yaml or json', 'yaml')
    .action((o: { filename: string[]; output: string }) => runConvert(ctx, o));
}
