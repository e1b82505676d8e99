import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import etcd3 from 'etcd3';
import type { IOptions, KVClient, WatchClient } from 'etcd3';
import { ConfigError } from './config.js';
import {
  classifyEtcdFailure,
  etcdFailure,
  isInformative,
  isPermanent,
  type FailureContext,
} from './etcd-errors.js';

/**
 * One etcd client and the rule for calling it: every call finishes within `timeoutMs`, whatever
 * the server does.
 *
 * Why not the etcd3 client's own fault handling: its default policies retry three times behind a
 * per-host circuit breaker, with no overall deadline (its `dialTimeout` option is not used), so a
 * wrong CA or a dead server surfaces as a "breaker is open" error or after a long wait. We switch
 * those policies off and apply one policy of our own: a gRPC deadline for the time that is left,
 * retries with short backoff while etcd is unreachable or electing a leader, no retry at all for a
 * problem only configuration can fix (TLS, password, permissions), and an error that names the
 * endpoint and the problem when the time is up.
 */
export interface EtcdConnectionOptions {
  /** Client URLs, `http://host:2379` or `https://host:2379`; several for a cluster. */
  readonly endpoints: readonly string[];
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** PEM files: the CA that signed the server's certificate, and our client certificate and key. */
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  /** Upper bound for one call, retries included. Default 4,000 ms, so that an unreachable etcd is reported within 5 s. */
  readonly timeoutMs?: number | undefined;
}

export const DEFAULT_ETCD_TIMEOUT_MS = 4_000;

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;

type PolicyBody = (context: { signal: AbortSignal; attempt: number }) => unknown;

/** A policy that calls straight through: the etcd3 client's retries and breakers, switched off. */
const passThrough = {
  execute: (fn: PolicyBody) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
} as unknown as Policy;

/** How long an endpoint that refused a connection is skipped while other endpoints remain. */
const SKIP_DEAD_ENDPOINT_MS = 1_000;

/**
 * With several endpoints, one that just refused a connection is skipped for a moment: the etcd3
 * pool moves on to the next endpoint when a host policy declines to call through, so a dead member
 * costs one failed attempt a second instead of one per call. The error it declines with is the
 * endpoint's last real failure, so if every endpoint is down the caller still learns why.
 */
function skipDeadEndpoint(): Policy {
  let skipUntil = 0;
  let lastFailure = '';
  return {
    execute: async (fn: PolicyBody) => {
      if (Date.now() < skipUntil) throw new Error(lastFailure);
      try {
        return await fn({ signal: new AbortController().signal, attempt: 0 });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        if (classifyEtcdFailure(message) === 'unreachable' && isInformative(message)) {
          skipUntil = Date.now() + SKIP_DEAD_ENDPOINT_MS;
          lastFailure = message;
        }
        throw error;
      }
    },
  } as unknown as Policy;
}

export class EtcdConnection {
  readonly client: InstanceType<typeof etcd3.Etcd3>;
  readonly endpoints: readonly string[];
  readonly timeoutMs: number;
  private closed = false;

  constructor(options: EtcdConnectionOptions) {
    this.endpoints = options.endpoints.map(normaliseEndpoint);
    if (this.endpoints.length === 0)
      throw new ConfigError('etcdv3 datastore: no endpoints given (ETCD_ENDPOINTS)');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_ETCD_TIMEOUT_MS;
    if (!Number.isFinite(this.timeoutMs) || this.timeoutMs <= 0)
      throw new ConfigError(`etcd timeout must be a positive number of milliseconds, got ${this.timeoutMs}`);
    const clientOptions: IOptions = {
      hosts: [...this.endpoints],
      faultHandling: {
        host: () => (this.endpoints.length > 1 ? skipDeadEndpoint() : passThrough),
        global: passThrough,
      },
      grpcOptions: {
        // Reconnect soon after etcd comes back, and notice a silent peer instead of waiting forever.
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1_000,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        // Resource lists are paginated, but one large value must still fit.
        'grpc.max_receive_message_length': 64 * 1024 * 1024,
      },
    };
    const tls = readTlsFiles(options);
    if (tls) clientOptions.credentials = tls;
    if (options.username) {
      clientOptions.auth = {
        username: options.username,
        password: options.password ?? '',
        // The token exchange gets the same bound as every other call.
        callOptions: () => ({ deadline: Date.now() + this.timeoutMs }),
      };
    }
    this.client = new etcd3.Etcd3(clientOptions);
  }

  get kv(): KVClient {
    return this.client.kv;
  }

  get watchClient(): WatchClient {
    return this.client.watchClient;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Runs `call` (one unary etcd request) until it succeeds, fails for a reason retrying cannot fix,
   * or the timeout is spent. `idempotent` calls are retried on any transient failure; others only
   * when the failure shows the request never left (no connection), so a write is never applied twice.
   */
  async call<T>(
    operation: string,
    idempotent: boolean,
    call: (options: { deadline: number }) => Promise<T>,
  ): Promise<T> {
    const context = this.context(operation);
    if (this.closed) throw etcdFailure('closed', '', context);
    const started = Date.now();
    const deadline = started + this.timeoutMs;
    let backoff = 25;
    let best: string | undefined;
    for (;;) {
      try {
        return await call({ deadline });
      } catch (error) {
        if (this.closed) throw etcdFailure('closed', '', context);
        const message = error instanceof Error ? error.message : String(error);
        if (best === undefined || evidenceRank(message) >= evidenceRank(best)) best = message;
        const problem = classifyEtcdFailure(message);
        const retryable = !isPermanent(problem) && (idempotent || NEVER_SENT.test(message));
        if (!retryable) {
          // This attempt's failure is the answer (a write whose fate is unknown must not be resent).
          const cause = isInformative(message) ? message : best;
          throw etcdFailure(classifyEtcdFailure(cause), cause, context, Date.now() - started);
        }
        const left = deadline - Date.now();
        // An attempt with a few milliseconds left only ever reports "deadline exceeded".
        if (left < 50) throw etcdFailure(classifyEtcdFailure(best), best, context, Date.now() - started);
        await sleep(Math.min(backoff, left - 25));
        backoff = Math.min(backoff * 2, 500);
      }
    }
  }

  context(operation: string): FailureContext {
    return { endpoints: this.endpoints, operation, timeoutMs: this.timeoutMs };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.client.close();
  }
}

/**
 * Failures that prove a request was never applied, so even a write may be sent again: no connection
 * to the member, or a member that refused it for want of a leader before proposing it.
 */
const NEVER_SENT = /No connection established|ECONNREFUSED|Failed to connect|etcdserver: no leader/i;

/**
 * Which of several failed attempts explains the failure best: a refused connection says more than
 * the deadline that later ran out while reconnecting, and a message with a cause more than "null".
 */
function evidenceRank(message: string): number {
  if (!isInformative(message)) return 0;
  const problem = classifyEtcdFailure(message);
  if (isPermanent(problem)) return 3;
  return problem === 'unreachable' ? 2 : 1;
}

function normaliseEndpoint(raw: string): string {
  const endpoint = raw.trim();
  if (/^https?:\/\//.test(endpoint)) return endpoint.replace(/\/+$/, '');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint))
    throw new ConfigError(`etcd endpoint "${endpoint}": use http:// or https://`);
  return `http://${endpoint}`;
}

function readTlsFiles(options: EtcdConnectionOptions): IOptions['credentials'] | undefined {
  const read = (what: string, variable: string, file: string | undefined): Buffer | undefined => {
    if (!file) return undefined;
    try {
      return readFileSync(file);
    } catch (error) {
      throw new ConfigError(
        `etcd ${what} file ${file} (${variable}) cannot be read: ${(error as Error).message}`,
      );
    }
  };
  const rootCertificate = read('CA certificate', 'ETCD_CA_CERT_FILE', options.caFile);
  const certChain = read('client certificate', 'ETCD_CERT_FILE', options.certFile);
  const privateKey = read('client key', 'ETCD_KEY_FILE', options.keyFile);
  if ((certChain === undefined) !== (privateKey === undefined))
    throw new ConfigError('etcd client TLS needs both ETCD_CERT_FILE and ETCD_KEY_FILE, or neither');
  const secure = options.endpoints.some((e) => e.trim().startsWith('https://'));
  if (!rootCertificate && !certChain) return undefined;
  if (!secure)
    throw new ConfigError(
      'etcd TLS files are configured but ETCD_ENDPOINTS uses http://; use https:// endpoints',
    );
  // Without a CA file, trust the system's CAs: gRPC reads a null root list as "use the defaults".
  const credentials: NonNullable<IOptions['credentials']> = {
    rootCertificate: rootCertificate ?? (null as unknown as Buffer),
  };
  if (certChain && privateKey) {
    credentials.certChain = certChain;
    credentials.privateKey = privateKey;
  }
  return credentials;
}

// Kept here for callers that import it from the connection module; it lives apart so that reading
// the setting does not load the etcd client.
export { parseEtcdTimeout } from './etcd-timeout.js';
