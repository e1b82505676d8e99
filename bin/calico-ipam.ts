#!/usr/bin/env node
// The `calico-ipam` CNI IPAM plugin: addresses from Calico IPAM for any main plugin. See src/cni/README.md.
import { runPluginProcess } from '../src/cni/plugin-process.js';
import { runCalicoIpamPlugin } from '../src/cni/run-plugin.js';

await runPluginProcess(runCalicoIpamPlugin);
