#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Checks that every release asset pinned in versions.env exists (HTTP HEAD, following redirects).
# Needs network access; run it before changing versions.env.
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
. ./lib.sh
release_urls

failed=0
for url in "$CERT_MANAGER_URL" "$SERVING_CRDS_URL" "$SERVING_CORE_URL" "$KOURIER_URL" \
  "$EVENTING_CRDS_URL" "$EVENTING_CORE_URL" "$RABBITMQ_CLUSTER_OPERATOR_URL" \
  "$RABBITMQ_TOPOLOGY_OPERATOR_URL" "$EVENTING_RABBITMQ_URL" "$CNPG_URL" \
  "https://github.com/k3s-io/k3s/releases/tag/${K3S_VERSION/+/%2B}" \
  "https://charts.rook.io/release/rook-ceph-${ROOK_VERSION}.tgz" \
  "https://helm.releases.hashicorp.com/vault-${VAULT_CHART_VERSION}.tgz"; do
  if curl -fsIL -o /dev/null "$url"; then
    echo "ok      $url"
  else
    echo "MISSING $url"
    failed=1
  fi
done
exit "$failed"
