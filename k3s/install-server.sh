#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the k3s server on the "cloud" node: control plane + the nginx edge (nginx itself is
# installed from nginx/). Run as root on that node. Prints the join token for install-agent.sh.
#   sudo ./install-server.sh [--dry-run] <public-dns-name>
# SINGLE_NODE=1 (local clusters): no taint, so workloads run on this node too.
# --dry-run prints the k3s configuration and the install command, and changes nothing (no root needed).
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env

DRY_RUN=0
if [ "${1:-}" = --dry-run ]; then
  DRY_RUN=1
  shift
fi
PUBLIC_NAME=${1:?usage: install-server.sh [--dry-run] <public-dns-name>}
[ "$DRY_RUN" = 1 ] || [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }

CONFIG_FILE=/etc/rancher/k3s/config.yaml
if [ "$DRY_RUN" = 1 ]; then
  CONFIG_FILE=$(mktemp)
  trap 'rm -f "$CONFIG_FILE"' EXIT
else
  mkdir -p /etc/rancher/k3s
fi
cat >"$CONFIG_FILE" <<CONFIG
# Written by k3s/install-server.sh
write-kubeconfig-mode: "0600"
tls-san:
  - ${PUBLIC_NAME}
# nginx on this node is the edge and Kourier the Knative ingress: no Traefik, no ServiceLB.
disable:
  - traefik
  - servicelb
secrets-encryption: true
# Embedded etcd (instead of SQLite) so the datastore is snapshotted: every 6 hours, 28 kept (a week), in
# /var/lib/rancher/k3s/server/db/snapshots; copy them off the node (RUNBOOK "Back up and restore").
# An existing SQLite server migrates to etcd on its next start with this setting.
cluster-init: true
etcd-snapshot-schedule-cron: "0 */6 * * *"
etcd-snapshot-retention: 28
node-label:
  - node-role.isekai.dev/edge=true
# NodePorts (Kourier's 31080) listen on loopback only: nginx on this node reaches Kourier through
# 127.0.0.1:31080; nothing from outside reaches it, on this node or any other (install-agent.sh sets the same).
kube-proxy-arg:
  - nodeport-addresses=127.0.0.1/32
CONFIG
if [ "${SINGLE_NODE:-0}" != 1 ]; then
  # Keep application pods off the control plane; k3s system pods tolerate this taint.
  printf 'node-taint:\n  - CriticalAddonsOnly=true:NoExecute\n' >>"$CONFIG_FILE"
fi

if [ "$DRY_RUN" = 1 ]; then
  echo "# would write /etc/rancher/k3s/config.yaml:"
  sed 's/^/    /' "$CONFIG_FILE"
  echo "# would run: curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=${K3S_VERSION} sh -s - server"
  exit 0
fi
curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="${K3S_VERSION}" sh -s - server

echo "Join token (for install-agent.sh):"
cat /var/lib/rancher/k3s/server/node-token
