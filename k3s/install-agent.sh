#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Joins a node to the cluster as a storage node (Ceph disks: labelled and tainted so only Ceph and
# tolerating pods run there) or a worker node (functions, broker dispatchers, databases).
#   sudo K3S_URL=https://cloud:6443 K3S_TOKEN=… ./install-agent.sh [--dry-run] storage|worker
# --dry-run prints the k3s configuration and the commands, and changes nothing (no root needed).
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env

DRY_RUN=0
if [ "${1:-}" = --dry-run ]; then
  DRY_RUN=1
  shift
fi
ROLE=${1:?usage: install-agent.sh [--dry-run] storage|worker}
[ "$DRY_RUN" = 1 ] || [ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
: "${K3S_URL:?set K3S_URL=https://<cloud>:6443}"
: "${K3S_TOKEN:?set K3S_TOKEN (printed by install-server.sh)}"

CONFIG_FILE=/etc/rancher/k3s/config.yaml
# run CMD…: executed, or printed in a dry run.
run() {
  if [ "$DRY_RUN" = 1 ]; then echo "# would run: $*"; else "$@"; fi
}
if [ "$DRY_RUN" = 1 ]; then
  CONFIG_FILE=$(mktemp)
  trap 'rm -f "$CONFIG_FILE"' EXIT
else
  mkdir -p /etc/rancher/k3s
fi
case "$ROLE" in
  storage)
    cat >"$CONFIG_FILE" <<CONFIG
# Written by k3s/install-agent.sh storage
node-label:
  - node-role.isekai.dev/storage=true
node-taint:
  - node-role.isekai.dev/storage=true:NoSchedule
CONFIG
    ;;
  worker)
    cat >"$CONFIG_FILE" <<CONFIG
# Written by k3s/install-agent.sh worker
node-label:
  - node-role.isekai.dev/worker=true
CONFIG
    ;;
  *)
    echo "unknown role: $ROLE (storage|worker)" >&2
    exit 1
    ;;
esac
# NodePorts listen on loopback only (kube-proxy), as on the server: Kourier's 31080 is reachable from nginx
# on the edge node and from nowhere else; nginx's authentication and rate limits cannot be bypassed.
printf 'kube-proxy-arg:\n  - nodeport-addresses=127.0.0.1/32\n' >>"$CONFIG_FILE"
# Ceph RBD needs the kernel module on every node that mounts volumes; load it now and at boot.
run modprobe rbd
if [ "$DRY_RUN" = 1 ]; then
  echo "# would write /etc/modules-load.d/rbd.conf: rbd"
  echo "# would write /etc/rancher/k3s/config.yaml:"
  sed 's/^/    /' "$CONFIG_FILE"
  echo "# would run: curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=${K3S_VERSION} K3S_URL=${K3S_URL} K3S_TOKEN=… sh -s - agent"
  exit 0
fi
echo rbd >/etc/modules-load.d/rbd.conf
curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="${K3S_VERSION}" K3S_URL="${K3S_URL}" K3S_TOKEN="${K3S_TOKEN}" sh -s - agent
