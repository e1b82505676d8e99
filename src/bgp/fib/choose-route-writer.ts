/**
 * Which route writer this process uses: the calico-fib-writer coprocess when it was built and the
 * commands run against a real kernel (a `ProcessRunner`, in its namespace), else `ip -batch`
 * through the given runner. A fake runner (unit tests) always gets `ip -batch`, so a test never
 * writes to the real kernel behind its fake's back. The choice is logged once, at info.
 */
import { ProcessRunner, type CommandRunner } from '../../kernel/runner.js';
import type { Logger } from '../../log.js';
import { nativeProgram } from '../../programs.js';
import { BGP_ROUTE_PROTO, IpBatchRouteWriter } from './ip-batch-route-writer.js';
import { NetlinkRouteWriter } from './netlink-route-writer.js';
import type { RouteWriter } from './route-writer.js';

export const FIB_WRITER_PROGRAM = 'calico-fib-writer';

export interface RouteWriterChoice {
  readonly log: Pick<Logger, 'info' | 'warn'>;
  readonly proto?: number;
  /** Where the coprocess binary is (default: `nativeProgram('calico-fib-writer')`); undefined: not built. */
  readonly findProgram?: () => string | undefined;
}

export function routeWriterFor(runner: CommandRunner, choice: RouteWriterChoice): RouteWriter {
  const proto = choice.proto ?? BGP_ROUTE_PROTO;
  const program = (choice.findProgram ?? (() => nativeProgram(FIB_WRITER_PROGRAM)))();
  if (program !== undefined && runner instanceof ProcessRunner) {
    const argv = [program, ...(proto !== BGP_ROUTE_PROTO ? ['--proto', String(proto)] : [])];
    const command = runner.netns !== undefined ? ['ip', 'netns', 'exec', runner.netns, ...argv] : argv;
    choice.log.info(
      { writer: 'netlink', program },
      'BGP routes go to the kernel through calico-fib-writer (rtnetlink)',
    );
    return new NetlinkRouteWriter({ command, log: choice.log });
  }
  choice.log.info(
    {
      writer: 'ip-batch',
      reason:
        program === undefined
          ? `${FIB_WRITER_PROGRAM} is not built (npm run build:native)`
          : 'the command runner is not a real kernel',
    },
    'BGP routes go to the kernel through ip -batch',
  );
  return new IpBatchRouteWriter(runner, proto);
}
