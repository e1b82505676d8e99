/**
 * `calicoctl policy explain`: which policy or profile rule decides a packet between two endpoints
 * (or addresses). The decision logic is the pure explain in src/policy; this command only reads the
 * policy-relevant resources from the configured datastore and prints the explanation's lines.
 */
import type { Command } from 'commander';
import type { Resource } from '../../api/index.js';
import {
  ExplainInputError,
  explainTraffic,
  formatExplanation,
  policyResourcesFrom,
  type ExplainRequest,
} from '../../policy/index.js';
import { CliError, type CliContext } from '../context.js';

const POLICY_KINDS = [
  'GlobalNetworkPolicy',
  'NetworkPolicy',
  'Profile',
  'WorkloadEndpoint',
  'HostEndpoint',
] as const;

function integerOption(flag: string, text: string | undefined, max: number): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || Number(text) > max) {
    throw new CliError(`${flag} ${JSON.stringify(text)} is not a number from 0 to ${max}`);
  }
  return Number(text);
}

interface ExplainOptions {
  from: string;
  to: string;
  protocol: string;
  port?: string;
  srcPort?: string;
  icmpType?: string;
  icmpCode?: string;
}

export function registerPolicyCommands(program: Command, ctx: CliContext): void {
  const policy = program.command('policy').description('Inspect how policy treats traffic');
  policy
    .command('explain')
    .description(
      'Explain, step by step, which policy or profile rule allows or denies a packet: egress at the ' +
        'source endpoint, then ingress at the destination',
    )
    .requiredOption('--from <endpoint|ip>', 'source: an endpoint name (or namespace/name) or an IP address')
    .requiredOption(
      '--to <endpoint|ip>',
      'destination: an endpoint name (or namespace/name) or an IP address',
    )
    .option('--protocol <protocol>', 'tcp, udp, icmp, icmpv6, sctp, udplite or a protocol number', 'tcp')
    .option('--port <port>', 'destination port (required for tcp, udp, sctp)')
    .option('--src-port <port>', 'source port (default 40000)')
    .option('--icmp-type <type>', 'ICMP type (default: echo request)')
    .option('--icmp-code <code>', 'ICMP code (default 0)')
    .action(async (o: ExplainOptions) => {
      const port = integerOption('--port', o.port, 65535);
      const srcPort = integerOption('--src-port', o.srcPort, 65535);
      const icmpType = integerOption('--icmp-type', o.icmpType, 255);
      const icmpCode = integerOption('--icmp-code', o.icmpCode, 255);
      const request: ExplainRequest = {
        from: o.from,
        to: o.to,
        protocol: o.protocol,
        ...(port !== undefined ? { port } : {}),
        ...(srcPort !== undefined ? { srcPort } : {}),
        ...(icmpType !== undefined ? { icmpType } : {}),
        ...(icmpCode !== undefined ? { icmpCode } : {}),
      };
      const client = await ctx.client();
      const lists: Resource[][] = await Promise.all(POLICY_KINDS.map((kind) => client.list(kind)));
      let lines: string[];
      try {
        lines = formatExplanation(explainTraffic(policyResourcesFrom(lists.flat()), request));
      } catch (e) {
        if (e instanceof ExplainInputError) throw new CliError(e.message);
        throw e;
      }
      for (const line of lines) ctx.out(line);
    });
}
