#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the platform on a running k3s cluster, in dependency order, waiting for each rollout:
# cert-manager → Knative Serving + Kourier → Knative Eventing → RabbitMQ cluster operator →
# messaging topology operator → eventing-rabbitmq broker → Rook operator + Ceph → Vault →
# Isekai (knative/overlays/$OVERLAY). Idempotent: re-running applies the same versions again.
#   KUBECONFIG=… ./install-platform.sh [production|local]
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
. ./lib.sh
release_urls

OVERLAY=${1:-production}
ROOT=$(cd .. && pwd)
command -v kubectl >/dev/null || die "kubectl not found"

log "cert-manager ${CERT_MANAGER_VERSION}"
kubectl apply -f "$CERT_MANAGER_URL"
wait_rollouts cert-manager

log "Knative Serving ${KNATIVE_SERVING_VERSION} + Kourier ${KNATIVE_NET_KOURIER_VERSION}"
kubectl apply -f "$SERVING_CRDS_URL"
kubectl wait crd --all --for=condition=Established --timeout=120s
kubectl apply -f "$SERVING_CORE_URL"
kubectl apply -f "$KOURIER_URL"
kubectl apply -f platform/knative-serving-config.yaml
wait_rollouts knative-serving
wait_rollouts kourier-system

log "Knative Eventing ${KNATIVE_EVENTING_VERSION}"
kubectl apply -f "$EVENTING_CRDS_URL"
kubectl wait crd --all --for=condition=Established --timeout=120s
kubectl apply -f "$EVENTING_CORE_URL"
wait_rollouts knative-eventing

log "RabbitMQ cluster operator ${RABBITMQ_CLUSTER_OPERATOR_VERSION}"
kubectl apply -f "$RABBITMQ_CLUSTER_OPERATOR_URL"
wait_rollouts rabbitmq-system

log "RabbitMQ messaging topology operator ${RABBITMQ_TOPOLOGY_OPERATOR_VERSION}"
kubectl apply -f "$RABBITMQ_TOPOLOGY_OPERATOR_URL"
wait_rollouts rabbitmq-system

log "eventing-rabbitmq ${EVENTING_RABBITMQ_VERSION}"
kubectl apply -f "$EVENTING_RABBITMQ_URL"
wait_crd rabbitmqbrokerconfigs.eventing.knative.dev
wait_rollouts knative-eventing

if [ "$OVERLAY" = production ]; then
  log "Rook ${ROOK_VERSION} operator, then the Ceph cluster, pools and object store"
  kubectl apply -f "$ROOT/rook/100-operator.yaml"
  wait_crd cephclusters.ceph.rook.io
  wait_crd objectbucketclaims.objectbucket.io
  wait_rollouts rook-ceph
  kubectl apply -k "$ROOT/rook"
  kubectl -n rook-ceph wait cephcluster/rook-ceph --for=jsonpath='{.status.phase}'=Ready --timeout=1800s

  log "Vault ${VAULT_CHART_VERSION} (server + agent injector)"
  kubectl apply -f platform/vault.yaml
  wait_crd helmcharts.helm.cattle.io
  kubectl -n vault rollout status statefulset/vault --timeout=600s || \
    log "vault is not Ready until it is initialised and unsealed: see vault-policies/README.md"
fi

log "Isekai (knative/overlays/${OVERLAY})"
kubectl apply -k "$ROOT/knative/overlays/${OVERLAY}"
kubectl -n isekai-data wait rabbitmqcluster/rabbitmq --for=condition=AllReplicasReady --timeout=900s
kubectl -n isekai wait broker/default --for=condition=Ready --timeout=300s
kubectl -n isekai wait ksvc --all --for=condition=Ready --timeout=600s
log "done: kn service list -n isekai; kn trigger list -n isekai"
