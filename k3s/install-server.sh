#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the k3s server on the "cloud" node: control plane + the nginx edge (nginx itself is
# installed from nginx/). Run as root on that node. Prints the join token for install-agent.sh.
#   sudo ./install-server.sh <public-dns-name>
# SINGLE_NODE=1 (local clusters): no taint, so workloads run on this node too.
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env

[ "$(id -u)" -eq 0 ] || { echo "run as root" >&2; exit 1; }
PUBLIC_NAME=${1:?usage: install-server.sh <public-dns-name>}

mkdir -p /etc/rancher/k3s
cat >/etc/rancher/k3s/config.yaml <<CONFIG
# Written by k3s/install-server.sh
write-kubeconfig-mode: "0600"
tls-san:
  - ${PUBLIC_NAME}
# nginx on this node is the edge and Kourier the Knative ingress: no Traefik, no ServiceLB.
disable:
  - traefik
  - servicelb
secrets-encryption: true
node-label:
  - node-role.isekai.dev/edge=true
CONFIG
if [ "${SINGLE_NODE:-0}" != 1 ]; then
  # Keep application pods off the control plane; k3s system pods tolerate this taint.
  printf 'node-taint:\n  - CriticalAddonsOnly=true:NoExecute\n' >>/etc/rancher/k3s/config.yaml
fi

curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="${K3S_VERSION}" sh -s - server

echo "Join token (for install-agent.sh):"
cat /var/lib/rancher/k3s/server/node-token
