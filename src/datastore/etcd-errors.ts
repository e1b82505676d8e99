import { DatastoreError, DatastoreUnavailableError } from './errors.js';

/**
 * What went wrong talking to etcd, in the user's terms.
 *
 * The etcd3 client reports failures as gRPC errors whose only useful content is the message text
 * ("14 UNAVAILABLE: No connection established. Last error: Error: unable to verify the first
 * certificate", "etcdserver: authentication failed, invalid user ID or password"). Callers need to
 * branch on the kind of failure (retry an unreachable server; never retry a wrong password) and
 * users need a sentence that names the endpoint, the problem and the fix, so each failure is
 * classified once, here, into an `EtcdUnavailableError` with a `problem`.
 */
export type EtcdProblem =
  /** Nothing answered: refused, reset, DNS, or timed out before any answer. */
  | 'unreachable'
  /** TLS handshake failed: the server's certificate is not signed by our CA, or ours was refused. */
  | 'tls'
  /** Username or password rejected. */
  | 'authentication'
  /** Authenticated, but the user's roles do not allow this operation on this key. */
  | 'permission-denied'
  /** The server answered but did not complete the request within the timeout. */
  | 'timeout'
  /** The connection was closed by close(). */
  | 'closed'
  /** Anything else etcd refused (too many requests, request too large, ...). */
  | 'refused';

export class EtcdUnavailableError extends DatastoreUnavailableError {
  constructor(
    readonly problem: EtcdProblem,
    readonly endpoints: readonly string[],
    message: string,
  ) {
    super(message);
  }
}

/** Problems that retrying cannot fix: they need the user to change configuration. */
export function isPermanent(problem: EtcdProblem): boolean {
  switch (problem) {
    case 'tls':
    case 'authentication':
    case 'permission-denied':
    case 'closed':
    case 'refused':
      return true;
    case 'unreachable':
    case 'timeout':
      return false;
    default: {
      const never: never = problem;
      throw new Error(`unknown etcd problem ${String(never)}`);
    }
  }
}

const TLS_PATTERNS = [
  /certificate/i,
  /self[- ]signed/i,
  /SSL routines/i,
  /handshake/i,
  /alert bad/i,
  /wrong version number/i,
];

/** Sorts an etcd3/gRPC error into a problem by its message text; see the table in the unit test. */
export function classifyEtcdFailure(message: string): EtcdProblem {
  if (
    /authentication failed|invalid user ID or password|user name is empty|invalid auth token/i.test(message)
  )
    return 'authentication';
  if (/permission denied/i.test(message)) return 'permission-denied';
  if (TLS_PATTERNS.some((pattern) => pattern.test(message))) return 'tls';
  // etcd's own timeouts, and a leader change under a proposal: the write may or may not have landed.
  if (/DEADLINE_EXCEEDED|deadline exceeded|timed out|leader changed/i.test(message)) return 'timeout';
  if (
    /UNAVAILABLE|ECONNREFUSED|ECONNRESET|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|Failed to connect|No connection established|no leader|stream ended|Connection dropped|socket hang up|CANCELLED/i.test(
      message,
    )
  )
    return 'unreachable';
  return 'refused';
}

/** The gRPC error message, with the gRPC layer's boilerplate trimmed so it reads as a cause. */
export function shortCause(message: string): string {
  return message
    .replace(/^\d+ [A-Z_]+: /, '')
    .replace(/No connection established\. Last error: (Error: )?/, '')
    .replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/g, '')
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .replace(/\n/g, ' ')
    .trim();
}

/** "unreachable" with a useless "null" cause says less than an earlier attempt's cause did. */
export function isInformative(message: string): boolean {
  const cause = shortCause(message);
  return cause !== '' && cause !== 'null' && cause !== 'null.';
}

const FIXES: Record<EtcdProblem, string> = {
  unreachable: 'check that etcd is running and that ETCD_ENDPOINTS names it (scheme, host and port)',
  tls: 'check ETCD_CA_CERT_FILE (the CA that signed the server certificate) and ETCD_CERT_FILE/ETCD_KEY_FILE (a client certificate the server trusts)',
  authentication: 'check ETCD_USERNAME and ETCD_PASSWORD',
  'permission-denied':
    "grant the user's role access to these keys (etcdctl role grant-permission), or use another user",
  timeout:
    'etcd is overloaded or electing a leader; a write may or may not have been applied, so read it back before retrying; or raise ETCD_TIMEOUT',
  closed: 'open the datastore again',
  refused: 'see the etcd server log',
};

const SUMMARIES: Record<EtcdProblem, string> = {
  unreachable: 'is unreachable',
  tls: 'TLS failed: certificate verify failed or certificate refused',
  authentication: 'authentication failed',
  'permission-denied': 'permission denied',
  timeout: 'did not complete the request in time',
  closed: 'the connection is closed',
  refused: 'refused the request',
};

export interface FailureContext {
  readonly endpoints: readonly string[];
  /** What we were doing: "get /calico/...", "watch /calico/ from revision 12". */
  readonly operation: string;
  readonly timeoutMs: number;
}

/** Turns anything thrown by the etcd3 client into our typed error; our own errors pass through. */
export function describeEtcdFailure(error: unknown, context: FailureContext, elapsedMs?: number): Error {
  if (error instanceof DatastoreError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const problem = classifyEtcdFailure(message);
  return etcdFailure(problem, message, context, elapsedMs);
}

export function etcdFailure(
  problem: EtcdProblem,
  cause: string,
  context: FailureContext,
  elapsedMs?: number,
): EtcdUnavailableError {
  const where = `etcd ${context.endpoints.join(',')}`;
  const after =
    problem === 'unreachable' || problem === 'timeout'
      ? ` (gave up after ${Math.round(elapsedMs ?? context.timeoutMs)} ms)`
      : '';
  const detail = shortCause(cause);
  return new EtcdUnavailableError(
    problem,
    context.endpoints,
    `${where}: ${SUMMARIES[problem]}${after} during ${context.operation}${detail ? `: ${detail}` : ''}; ${FIXES[problem]}`,
  );
}
