/**
 * The process edge of both plugins: environment and stdin in, one JSON document and an exit code
 * out, exactly as the CNI spec wants: a result (ADD), nothing (DEL, CHECK), the supported versions
 * (VERSION), or the error object with its code. Nothing else ever reaches stdout: logs are deferred
 * to stderr (plugin-log.ts), and any exception becomes an error object rather than a stack trace.
 */
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { IpamClient } from '../ipam/index.js';
import { ResourceClient } from '../datastore/resources.js';
import type { DatastoreConfig } from '../datastore/config.js';
import type { Datastore } from '../datastore/types.js';
import { ProcessRunner, type CommandRunner } from '../kernel/runner.js';
import {
  CalicoIpamSource,
  ExecIpamSource,
  type AddressSource,
  type PluginLocator,
} from './address-source.js';
import { calicoAdd, calicoCheck, calicoDel } from './calico-plugin.js';
import { datastoreConfigFor, openCniDatastore } from './datastore-access.js';
import { parseCommand, parseInvocation, type CniInvocation } from './environment.js';
import { ipamAdd, ipamCheck, ipamDel } from './ipam-plugin.js';
import {
  decodeConfigText,
  parseCalicoConfig,
  parseCalicoIpamConfig,
  type SharedConfig,
} from './network-config.js';
import { resolveNodeName, systemNodeNameLookups, type NodeNameLookups } from './node-name.js';
import { DeferredLog } from './plugin-log.js';
import {
  CNI_SPEC_VERSION,
  CniError,
  CniErrorCode,
  encodeResult,
  errorObject,
  SUPPORTED_CNI_VERSIONS,
  versionAllowsCheck,
  type CniResult,
} from './spec.js';
import { IpWorkloadDataplane, type WorkloadDataplane } from './veth-wiring.js';
import { workloadIdentity } from './workload-identity.js';

export interface PluginOutcome {
  readonly stdout: string;
  readonly exitCode: number;
}

/** What the edge needs from the machine; tests replace parts. */
export interface PluginEnvironment {
  readonly env: NodeJS.ProcessEnv;
  readonly stdin: string;
  readonly runner?: CommandRunner;
  readonly dataplane?: WorkloadDataplane;
  readonly openDatastore?: (config: DatastoreConfig) => Promise<Datastore>;
  /**
   * A datastore the caller keeps open across calls (calico-node's CNI server): used instead of
   * `openDatastore` when given, and closed after the call only when it is not `shared`.
   */
  readonly datastores?: CniDatastoreSource;
  /** See `CalicoPluginContext.kernelNetns`. */
  readonly containerNetnsPath?: string;
  readonly nodeNameLookups?: NodeNameLookups;
  readonly log?: DeferredLog;
  /**
   * The process exits right after this call (the real plugin), so the datastore is left to the exit
   * instead of closed: closing the last SQLite connection checkpoints the write-ahead log, a sync to
   * disk that costs more than the call's own writes. Committed writes are in the log either way, and
   * the next opener reads them from there.
   */
  readonly exitsAfterCall?: boolean;
}

export interface CniDatastoreSource {
  open(config: DatastoreConfig): Promise<{ readonly datastore: Datastore; readonly shared: boolean }>;
}

export const locatePluginInPath: PluginLocator = (type, cniPath) => {
  if (type.includes('/')) return undefined;
  for (const dir of cniPath) {
    const candidate = join(dir, type);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      continue;
    }
  }
  return undefined;
};

/** The version asked for in stdin, for error objects printed before the configuration is checked. */
function requestedVersion(stdin: string): string {
  try {
    const v = (JSON.parse(stdin) as { cniVersion?: unknown }).cniVersion;
    return typeof v === 'string' && v ? v : CNI_SPEC_VERSION;
  } catch {
    return CNI_SPEC_VERSION;
  }
}

function asCniError(e: unknown): CniError {
  if (e instanceof CniError) return e;
  const err = e instanceof Error ? e : new Error(String(e));
  return new CniError(
    999,
    `internal error: ${err.message}`,
    err.stack?.split('\n').slice(1, 4).join(' ').trim() ?? '',
  );
}

const versionReply = (stdin: string): PluginOutcome => ({
  stdout:
    JSON.stringify({ cniVersion: requestedVersion(stdin), supportedVersions: SUPPORTED_CNI_VERSIONS }) + '\n',
  exitCode: 0,
});

function requireCheckAllowed(inv: CniInvocation, config: SharedConfig): void {
  if (inv.command === 'CHECK' && !versionAllowsCheck(config.cniVersion))
    throw new CniError(
      CniErrorCode.IncompatibleVersion,
      `CHECK is not defined for cniVersion ${config.cniVersion}`,
      'CHECK exists from cniVersion 0.4.0 on',
    );
}

/**
 * Runs one call with the datastore open, closes it and flushes the log whatever happens, and turns
 * the answer or the failure into the printed document.
 */
async function respond(
  pe: PluginEnvironment,
  log: DeferredLog,
  body: (datastoreOf: (config: SharedConfig) => Promise<Datastore>) => Promise<CniResult | undefined>,
): Promise<PluginOutcome> {
  let datastore: Datastore | undefined;
  let shared = false;
  let version = requestedVersion(pe.stdin);
  try {
    const result = await body(async (config) => {
      version = config.cniVersion;
      const resolved = await datastoreConfigFor(config.datastore, pe.env);
      if (pe.datastores) {
        const lease = await pe.datastores.open(resolved);
        shared = lease.shared;
        datastore = lease.datastore;
      } else datastore = await (pe.openDatastore ?? openCniDatastore)(resolved);
      return datastore;
    });
    if (!result) return { stdout: '', exitCode: 0 };
    return {
      stdout: JSON.stringify(encodeResult(result, version as (typeof SUPPORTED_CNI_VERSIONS)[number])) + '\n',
      exitCode: 0,
    };
  } catch (e) {
    const error = asCniError(e);
    log.log('error', error.message, { code: error.code, details: error.details });
    return { stdout: JSON.stringify(errorObject(error, version)) + '\n', exitCode: 1 };
  } finally {
    if (!pe.exitsAfterCall && !shared) await datastore?.close().catch(() => undefined);
    await log.flush().catch(() => undefined);
  }
}

export async function runCalicoPlugin(pe: PluginEnvironment): Promise<PluginOutcome> {
  const log = pe.log ?? new DeferredLog('calico-cni');
  try {
    if (parseCommand(pe.env) === 'VERSION') return versionReply(pe.stdin);
  } catch (e) {
    return {
      stdout: JSON.stringify(errorObject(asCniError(e), requestedVersion(pe.stdin))) + '\n',
      exitCode: 1,
    };
  }
  return respond(pe, log, async (datastoreOf) => {
    const config = parseCalicoConfig(decodeConfigText(pe.stdin));
    log.setLevel(config.logLevel);
    const invocation = parseInvocation(pe.env);
    requireCheckAllowed(invocation, config);
    const node = resolveNodeName(config.node, pe.nodeNameLookups ?? systemNodeNameLookups);
    const runner = pe.runner ?? new ProcessRunner();
    const datastore = await datastoreOf(config);
    const identity = workloadIdentity(invocation, config.name, node);
    const addresses: AddressSource =
      config.ipam.kind === 'calico-ipam'
        ? new CalicoIpamSource(new IpamClient(datastore), config.ipam, identity, node, invocation.args.ips)
        : new ExecIpamSource(
            runner,
            locatePluginInPath,
            config.ipam.type,
            invocation,
            pe.stdin,
            pe.env.CNI_ARGS ?? '',
          );
    const ctx = {
      invocation,
      config,
      node,
      resources: new ResourceClient(datastore),
      addresses,
      dataplane: pe.dataplane ?? new IpWorkloadDataplane(runner),
      log,
      ...(pe.containerNetnsPath ? { kernelNetns: pe.containerNetnsPath } : {}),
    };
    log.log('debug', `${invocation.command} ${invocation.containerId}`, { node, ifname: invocation.ifname });
    switch (invocation.command) {
      case 'ADD':
        return calicoAdd(ctx);
      case 'DEL':
        await calicoDel(ctx);
        return undefined;
      case 'CHECK':
        await calicoCheck(ctx);
        return undefined;
      default: {
        const never: never = invocation.command;
        throw new Error(`unhandled command ${String(never)}`);
      }
    }
  });
}

export async function runCalicoIpamPlugin(pe: PluginEnvironment): Promise<PluginOutcome> {
  const log = pe.log ?? new DeferredLog('calico-ipam');
  try {
    if (parseCommand(pe.env) === 'VERSION') return versionReply(pe.stdin);
  } catch (e) {
    return {
      stdout: JSON.stringify(errorObject(asCniError(e), requestedVersion(pe.stdin))) + '\n',
      exitCode: 1,
    };
  }
  return respond(pe, log, async (datastoreOf) => {
    const doc = decodeConfigText(pe.stdin);
    const config = parseCalicoIpamConfig(doc);
    log.setLevel(config.logLevel);
    const invocation = parseInvocation(pe.env);
    requireCheckAllowed(invocation, config);
    const node = resolveNodeName(config.node, pe.nodeNameLookups ?? systemNodeNameLookups);
    const datastore = await datastoreOf(config);
    const identity = workloadIdentity(invocation, config.name, node);
    const ctx = {
      invocation,
      config,
      handle: identity.handle,
      addresses: new CalicoIpamSource(
        new IpamClient(datastore),
        config.ipam,
        identity,
        node,
        invocation.args.ips,
      ),
    };
    switch (invocation.command) {
      case 'ADD':
        return ipamAdd(ctx);
      case 'DEL':
        await ipamDel(ctx);
        return undefined;
      case 'CHECK':
        await ipamCheck(ctx, doc.prevResult);
        return undefined;
      default: {
        const never: never = invocation.command;
        throw new Error(`unhandled command ${String(never)}`);
      }
    }
  });
}
