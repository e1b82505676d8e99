#!/usr/bin/env bash
# Installs what this project needs on a fresh Debian 12 machine with Node 20, as root:
# the Debian packages (kernel tools, etcd, BGP peers for the interop tests, chromium (large) for the
# lab report's screenshot test) and the npm packages, then builds dist/. Safe to run again: apt and
# npm ci skip what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS=(build-essential iproute2 iptables ipset conntrack kmod procps iputils-ping netcat-openbsd openssl etcd-server etcd-client bird2 frr gobgpd chromium containernetworking-plugins iperf3 busybox-static podman)

missing=()
for p in "${DEBS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages (${missing[*]}); run this script as root" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# etcd-server's package starts a system etcd on 2379, and bird2, frr and gobgpd start their routers
# (BGP on 179 in the root namespace); our tests start their own, on free ports or in namespaces.
for svc in etcd bird bird6 frr gobgpd; do
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  # Without systemd (containers) the packages start them through their init scripts.
  if [ -x "/etc/init.d/$svc" ]; then "/etc/init.d/$svc" stop >/dev/null 2>&1 || true; fi
done

npm ci --no-audit --no-fund
npm run build
