#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the k3s server on the "cloud" node: control plane + the nginx edge (nginx itself is
# installed from nginx/). Run as root on that node. Prints the join token for install-agent.sh.
#   sudo ./install-server.sh [--dry-run] <public-dns-name>
# SINGLE_NODE=1 (local clusters): no taint, so workloads run on this node too.
# ETCD_S3_ENDPOINT, ETCD_S3_BUCKET, ETCD_S3_ACCESS_KEY, ETCD_S3_SECRET_KEY (optional, all or none; plus
# ETCD_S3_FOLDER, default k3s-etcd, and ETCD_S3_REGION): every datastore snapshot is also uploaded to that S3
# bucket. Use one *outside* this cluster (another site's RGW, a provider's S3): the cluster's own Ceph RGW
# is lost with the cluster the snapshot should restore.
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
etcd-snapshot-compress: true
node-label:
  - node-role.isekai.dev/edge=true
# NodePorts (Kourier's 31080) listen on loopback only: nginx on this node reaches Kourier through
# 127.0.0.1:31080; nothing from outside reaches it, on this node or any other (install-agent.sh sets the same).
kube-proxy-arg:
  - nodeport-addresses=127.0.0.1/32
CONFIG
# The config may hold the S3 secret key: root only.
chmod 600 "$CONFIG_FILE"
s3_vars="${ETCD_S3_ENDPOINT:-}${ETCD_S3_BUCKET:-}${ETCD_S3_ACCESS_KEY:-}${ETCD_S3_SECRET_KEY:-}"
if [ -n "$s3_vars" ]; then
  for v in ETCD_S3_ENDPOINT ETCD_S3_BUCKET ETCD_S3_ACCESS_KEY ETCD_S3_SECRET_KEY; do
    [ -n "${!v:-}" ] || { echo "error: $v is required when any ETCD_S3_* is set" >&2; exit 1; }
  done
  # k3s' own S3 upload of each scheduled snapshot (flags of k3s server, docs.k3s.io/cli/server "Database");
  # the retention above applies to the bucket's copies too.
  cat >>"$CONFIG_FILE" <<S3
etcd-s3: true
etcd-s3-endpoint: "${ETCD_S3_ENDPOINT}"
etcd-s3-bucket: "${ETCD_S3_BUCKET}"
etcd-s3-folder: "${ETCD_S3_FOLDER:-k3s-etcd}"
etcd-s3-region: "${ETCD_S3_REGION:-us-east-1}"
etcd-s3-access-key: "${ETCD_S3_ACCESS_KEY}"
etcd-s3-secret-key: "${ETCD_S3_SECRET_KEY}"
S3
fi
if [ "${SINGLE_NODE:-0}" != 1 ]; then
  # Keep application pods off the control plane; k3s system pods tolerate this taint.
  printf 'node-taint:\n  - CriticalAddonsOnly=true:NoExecute\n' >>"$CONFIG_FILE"
fi

if [ "$DRY_RUN" = 1 ]; then
  echo "# would write /etc/rancher/k3s/config.yaml:"
  sed -e 's/^/    /' -e 's/\(etcd-s3-secret-key: \).*/\1"<hidden>"/' "$CONFIG_FILE"
  echo "# would run: curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION=${K3S_VERSION} sh -s - server"
  exit 0
fi
curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION="${K3S_VERSION}" sh -s - server

echo "Join token (for install-agent.sh):"
cat /var/lib/rancher/k3s/server/node-token
