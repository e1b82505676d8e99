/**
 * `calicoctl config get|set NAME [VALUE] [--node NODE]`: the seed's global settings, stored in their v3
 * homes: asNumber and nodeTonodeMesh in the `default` BGPConfiguration (or a node's spec.bgp for a
 * per-node AS), logLevel in the `default` FelixConfiguration (and the BGP one, so both daemons
 * agree; `node.<name>` for one node), ipip as FelixConfiguration ipipEnabled. Values print as the
 * seed shows them: `64512`, `on`, `info`, `off`.
 */
import type { Command } from 'commander';
import { effectiveBgpConfig, effectiveFelixConfig } from '../../api/defaults.js';
import type { BGPConfiguration, FelixConfiguration } from '../../api/types.js';
import { API_VERSION } from '../../api/types.js';
import { parseAsNumber } from '../../api/values.js';
import type { ResourceClient } from '../../datastore/resources.js';
import { CliContext, CliError } from '../context.js';

const NAMES = ['asNumber', 'nodeTonodeMesh', 'logLevel', 'ipip'] as const;
type ConfigName = (typeof NAMES)[number];

const LOG_LEVELS: Record<string, string> = {
  debug: 'Debug',
  info: 'Info',
  warning: 'Warning',
  error: 'Error',
  fatal: 'Fatal',
  critical: 'Fatal',
};

function configName(name: string): ConfigName {
  const found = NAMES.find((n) => n.toLowerCase() === name.toLowerCase());
  if (!found) throw new CliError(`unknown config name "${name}" (one of ${NAMES.join(', ')})`);
  return found;
}

function onOff(value: string, name: string): boolean {
  const v = value.toLowerCase();
  if (v === 'on' || v === 'true') return true;
  if (v === 'off' || v === 'false') return false;
  throw new CliError(`invalid value "${value}" for ${name}: use on or off`);
}

async function upsertBgp(
  client: ResourceClient,
  change: (spec: BGPConfiguration['spec']) => void,
): Promise<void> {
  const current = await client.get('BGPConfiguration', 'default');
  const res: BGPConfiguration = current ?? {
    apiVersion: API_VERSION,
    kind: 'BGPConfiguration',
    metadata: { name: 'default' },
    spec: {},
  };
  change(res.spec);
  await (current ? client.update(res) : client.create(res));
}

async function upsertFelix(
  client: ResourceClient,
  name: string,
  change: (spec: FelixConfiguration['spec']) => void,
): Promise<void> {
  const current = await client.get('FelixConfiguration', name);
  const res: FelixConfiguration = current ?? {
    apiVersion: API_VERSION,
    kind: 'FelixConfiguration',
    metadata: { name },
    spec: {},
  };
  change(res.spec);
  await (current ? client.update(res) : client.create(res));
}

async function nodeOrFail(client: ResourceClient, node: string) {
  const n = await client.get('Node', node);
  if (!n) throw new CliError(`resource does not exist: Node(${node})`);
  return n;
}

async function getValue(client: ResourceClient, name: ConfigName, node?: string): Promise<string> {
  const bgp = effectiveBgpConfig((await client.get('BGPConfiguration', 'default'))?.spec);
  switch (name) {
    case 'asNumber': {
      if (node) {
        const n = await nodeOrFail(client, node);
        return String(n.spec.bgp?.asNumber ?? bgp.asNumber);
      }
      return String(bgp.asNumber);
    }
    case 'nodeTonodeMesh':
      return bgp.nodeToNodeMeshEnabled ? 'on' : 'off';
    case 'logLevel': {
      const global = effectiveFelixConfig((await client.get('FelixConfiguration', 'default'))?.spec);
      const perNode = node
        ? (await client.get('FelixConfiguration', `node.${node}`))?.spec.logSeverityScreen
        : undefined;
      return (perNode ?? global.logSeverityScreen).toLowerCase();
    }
    case 'ipip':
      return effectiveFelixConfig((await client.get('FelixConfiguration', 'default'))?.spec).ipipEnabled
        ? 'on'
        : 'off';
    default: {
      const never: never = name;
      throw new CliError(`unknown config name ${String(never)}`);
    }
  }
}

async function setValue(
  client: ResourceClient,
  name: ConfigName,
  value: string,
  node?: string,
): Promise<void> {
  switch (name) {
    case 'asNumber': {
      const asn = parseAsNumber(value);
      if (asn === undefined)
        throw new CliError(
          `invalid value "${value}" for asNumber: an AS number is 1 to 4294967295, or the dotted form such as 1.10`,
        );
      if (node) {
        const n = await nodeOrFail(client, node);
        n.spec.bgp = { ...n.spec.bgp, asNumber: asn };
        await client.update(n);
      } else await upsertBgp(client, (s) => (s.asNumber = asn));
      return;
    }
    case 'nodeTonodeMesh': {
      if (node) throw new CliError('nodeTonodeMesh is a global setting; --node does not apply');
      const on = onOff(value, name);
      await upsertBgp(client, (s) => (s.nodeToNodeMeshEnabled = on));
      return;
    }
    case 'logLevel': {
      const level = LOG_LEVELS[value.toLowerCase()];
      if (!level)
        throw new CliError(
          `invalid value "${value}" for logLevel (one of ${Object.keys(LOG_LEVELS).join(', ')})`,
        );
      if (node) {
        await nodeOrFail(client, node);
        await upsertFelix(client, `node.${node}`, (s) => (s.logSeverityScreen = level));
        return;
      }
      await upsertFelix(client, 'default', (s) => (s.logSeverityScreen = level));
      await upsertBgp(client, (s) => (s.logSeverityScreen = level));
      return;
    }
    case 'ipip': {
      if (node) throw new CliError('ipip is a global setting; --node does not apply');
      const on = onOff(value, name);
      await upsertFelix(client, 'default', (s) => (s.ipipEnabled = on));
      return;
    }
    default: {
      const never: never = name;
      throw new CliError(`unknown config name ${String(never)}`);
    }
  }
}

export function registerConfigCommands(program: Command, ctx: CliContext): void {
  const config = program.command('config').description(`Get and set global settings (${NAMES.join(', ')})`);
  config
    .command('get')
    .argument('<name>', NAMES.join(' | '))
    .option('--node <node>', 'the value for one node (asNumber, logLevel)')
    .action(async (name: string, o: { node?: string }) => {
      ctx.out(await getValue(await ctx.client(), configName(name), o.node));
    });
  config
    .command('set')
    .argument('<name>', NAMES.join(' | '))
    .argument('<value>')
    .option('--node <node>', 'set it for one node only (asNumber, logLevel)')
    .action(async (name: string, value: string, o: { node?: string }) => {
      await setValue(await ctx.client(), configName(name), value, o.node);
    });
}
