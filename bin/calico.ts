#!/usr/bin/env node
// The `calico` CNI plugin: a container runtime execs it with CNI_* in the environment and the network
// configuration on stdin. See src/cni/README.md.
import { runPluginProcess } from '../src/cni/plugin-process.js';
import { runCalicoPlugin } from '../src/cni/run-plugin.js';

await runPluginProcess(runCalicoPlugin);
