#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Joins a node to the cluster as a storage node (Ceph disks: labelled and tainted so only Ceph and
# tolerating pods run there) or a worker node (functions, broker dispatchers, databases).
#   sudo K3S_URL=https://cloud:6443 K3S_TOKEN=… ./install-agent.sh storage|worker
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
ROLE=${1:?usage: install-agent.sh storage|worker}
: "${K3S_URL:?set K3S_URL=https://<cloud>:6443}"
: "${K3S_TOKEN:?set K3S_TOKEN (printed by install-server.sh)}"

mkdir -p /etc/rancher/k3s
case "$ROLE" in
  storage)
    cat >/etc/rancher/k3s/config.yaml <<CONFIG
# Written by k3s/install-agent.sh storage
node-label:
  - node-role.isekai.dev/storage=true
node-taint:
  - node-role.isekai.dev/storage=true:NoSchedule
CONFIG
    # Ceph RBD needs the kernel module on every node that mounts volumes; load it now and at boot.
    modprobe rbd
    echo rbd >/etc/modules-load.d/rbd.conf
    ;;
  worker)
    cat >/etc/rancher/k3s/config.yaml <<CONFIG
# Written by k3s/install-agent.sh worker
node-label:
  - node-role.isekai.dev/worker=true
CONFIG
    modprobe rbd
    echo rbd >/etc/modules-load.d/rbd.conf
    ;;
  *)
    echo "unknown role: $ROLE (storage|worker)" >&2
    exit 1
    ;;
esac

curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="${K3S_VERSION}" K3S_URL="${K3S_URL}" K3S_TOKEN="${K3S_TOKEN}" sh -s - agent
