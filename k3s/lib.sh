#!/usr/bin/env bash
# Shared helpers for the install scripts (sourced, not run).

# Release asset URLs, one place for install-platform.sh and check-versions.sh.
# shellcheck disable=SC2034 # used by the scripts that source this file
release_urls() {
  local serving="https://github.com/knative/serving/releases/download/knative-${KNATIVE_SERVING_VERSION}"
  local eventing="https://github.com/knative/eventing/releases/download/knative-${KNATIVE_EVENTING_VERSION}"
  CERT_MANAGER_URL="https://github.com/cert-manager/cert-manager/releases/download/${CERT_MANAGER_VERSION}/cert-manager.yaml"
  SERVING_CRDS_URL="${serving}/serving-crds.yaml"
  SERVING_CORE_URL="${serving}/serving-core.yaml"
  KOURIER_URL="https://github.com/knative/net-kourier/releases/download/knative-${KNATIVE_NET_KOURIER_VERSION}/kourier.yaml"
  EVENTING_CRDS_URL="${eventing}/eventing-crds.yaml"
  EVENTING_CORE_URL="${eventing}/eventing-core.yaml"
  RABBITMQ_CLUSTER_OPERATOR_URL="https://github.com/rabbitmq/cluster-operator/releases/download/${RABBITMQ_CLUSTER_OPERATOR_VERSION}/cluster-operator.yml"
  RABBITMQ_TOPOLOGY_OPERATOR_URL="https://github.com/rabbitmq/messaging-topology-operator/releases/download/${RABBITMQ_TOPOLOGY_OPERATOR_VERSION}/messaging-topology-operator-with-certmanager.yaml"
  EVENTING_RABBITMQ_URL="https://github.com/knative-extensions/eventing-rabbitmq/releases/download/knative-${EVENTING_RABBITMQ_VERSION}/rabbitmq-broker.yaml"
}

log() { printf '==> %s\n' "$*" >&2; }

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# wait_rollouts NAMESPACE: every Deployment in NAMESPACE is rolled out (10 minutes at most).
wait_rollouts() {
  local ns=$1
  log "waiting for deployments in ${ns}"
  kubectl -n "$ns" wait deployment --all --for=condition=Available --timeout=600s
}

# wait_crd NAME: the CRD exists and is Established.
wait_crd() {
  local crd=$1
  local i
  for i in $(seq 1 60); do
    if kubectl get crd "$crd" >/dev/null 2>&1; then
      kubectl wait "crd/${crd}" --for=condition=Established --timeout=120s
      return 0
    fi
    log "waiting for CRD ${crd} (${i}/60)"
    sleep 5
  done
  die "CRD ${crd} did not appear"
}
