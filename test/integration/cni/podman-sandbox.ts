/**
 * Podman, confined for a test: its own storage, run directory and containers.conf (CNI backend, our
 * plugin directory first, our network directory), containers from a busybox-static root filesystem
 * (no image registry), and every podman command run inside the test's host namespace.
 *
 * Two things this machine needs, both kept inside a private mount namespace held open by a `sleep`
 * (so nothing changes for anyone else):
 * - crun refuses "hybrid" cgroups (v1 controllers plus a cgroup2 mount holding a controller), which
 *   is how this machine mounts them; with /sys/fs/cgroup/unified unmounted in our mount namespace
 *   crun sees plain cgroup v1, and `--cgroups=disabled` keeps podman from creating cgroups at all.
 * - the sandbox lacks CAP_SYS_RESOURCE, so crun cannot raise rlimits to podman's defaults; the
 *   containers get lower ones (lowering needs no privilege).
 * `ip netns exec` is not used for podman because it remounts /sys, where crun then finds no cgroups;
 * `nsenter --net` switches only the network namespace.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, symlinkSync, copyFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

export class PodmanSandbox {
  private holder: ChildProcess | undefined;
  readonly env: NodeJS.ProcessEnv;

  constructor(
    readonly dir: string,
    readonly hostNs: string,
    pluginDirs: readonly string[],
  ) {
    for (const d of [
      'rootfs/bin',
      'rootfs/proc',
      'rootfs/sys',
      'rootfs/dev',
      'rootfs/etc',
      'rootfs/tmp',
      'net.d',
      'storage',
      'run',
    ])
      mkdirSync(join(dir, d), { recursive: true });
    copyFileSync('/bin/busybox', join(dir, 'rootfs/bin/busybox'));
    chmodSync(join(dir, 'rootfs/bin/busybox'), 0o755);
    const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean);
    for (const applet of applets)
      if (applet !== 'busybox') symlinkSync('busybox', join(dir, 'rootfs/bin', applet));
    writeFileSync(
      join(dir, 'containers.conf'),
      [
        '[network]',
        'network_backend = "cni"',
        `cni_plugin_dirs = [${pluginDirs.map((d) => JSON.stringify(d)).join(', ')}]`,
        `network_config_dir = "${join(dir, 'net.d')}"`,
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        `events_logfile_path = "${join(dir, 'events.log')}"`,
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'storage.conf'),
      [
        '[storage]',
        'driver = "vfs"',
        `graphroot = "${join(dir, 'storage')}"`,
        `runroot = "${join(dir, 'run')}"`,
        '',
      ].join('\n'),
    );
    this.env = {
      PATH: process.env.PATH,
      HOME: dir,
      CONTAINERS_CONF: join(dir, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(dir, 'storage.conf'),
    };
  }

  get rootfs(): string {
    return join(this.dir, 'rootfs');
  }

  addNetwork(name: string, conflist: object): void {
    writeFileSync(join(this.dir, 'net.d', `${name}.conflist`), JSON.stringify(conflist, null, 2));
  }

  /** Opens the private mount namespace (see above). */
  async start(): Promise<void> {
    this.holder = spawn(
      'unshare',
      [
        '-m',
        '--propagation',
        'private',
        'sh',
        '-c',
        'umount /sys/fs/cgroup/unified 2>/dev/null; echo ready; exec sleep infinity',
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      this.holder?.stdout?.once('data', () => resolve());
      this.holder?.once('exit', (code) => reject(new Error(`mount namespace holder exited (${code})`)));
    });
  }

  /** Runs podman in the private mount namespace and the host network namespace. */
  podman(args: readonly string[], timeoutMs = 120_000): { status: number; stdout: string; stderr: string } {
    if (!this.holder?.pid) throw new Error('PodmanSandbox.start() first');
    const r = spawnSync(
      'nsenter',
      [
        `--mount=/proc/${this.holder.pid}/ns/mnt`,
        `--net=/run/netns/${this.hostNs}`,
        'podman',
        '--root',
        join(this.dir, 'storage'),
        '--runroot',
        join(this.dir, 'run'),
        ...args,
      ],
      { env: this.env, encoding: 'utf8', timeout: timeoutMs, cwd: this.dir },
    );
    return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Starts a long-running container from the busybox root filesystem. */
  run(name: string, network: string, extra: readonly string[] = []): string {
    const r = this.podman([
      'run',
      '-d',
      '--name',
      name,
      '--network',
      network,
      '--cgroups=disabled',
      '--ulimit',
      'nofile=1024:1024',
      '--ulimit',
      'nproc=1024:1024',
      ...extra,
      '--rootfs',
      this.rootfs,
      '/bin/sh',
      '-c',
      'sleep 3600',
    ]);
    if (r.status !== 0) throw new Error(`podman run ${name} failed (${r.status}): ${r.stderr}`);
    return r.stdout.trim();
  }

  exec(name: string, cmd: readonly string[]): { status: number; stdout: string; stderr: string } {
    return this.podman(['exec', name, ...cmd]);
  }

  /** Removes every container (podman runs CNI DEL for each) and closes the mount namespace. */
  stop(): void {
    if (this.holder?.pid) {
      this.podman(['rm', '-af', '-t', '0']);
      this.holder.kill('SIGKILL');
    }
    this.holder = undefined;
  }

  /** Container names podman still knows (for cleanup assertions). */
  containers(): string[] {
    const r = this.podman(['ps', '-a', '--format', '{{.Names}}']);
    return r.stdout.split('\n').filter(Boolean);
  }
}
