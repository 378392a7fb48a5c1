#!/usr/bin/env bash
# Shared helpers for the install scripts (sourced, not run).
# Every wait goes through kwait/krollout, which refuse to run without a timeout; a wait that times out
# returns non-zero and, under `set -e`, stops the install with kubectl's own message. Nothing is masked.
# DRY_RUN=1: nothing is changed or waited for; each step prints what it would do and the manifests it
# would apply (remote release files are named by URL).

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
  CNPG_URL="https://github.com/cloudnative-pg/cloudnative-pg/releases/download/v${CNPG_VERSION}/cnpg-${CNPG_VERSION}.yaml"
  EVENTING_RABBITMQ_URL="https://github.com/knative-extensions/eventing-rabbitmq/releases/download/knative-${EVENTING_RABBITMQ_VERSION}/rabbitmq-broker.yaml"
}

DRY_RUN=${DRY_RUN:-0}

log() { printf '==> %s\n' "$*" >&2; }

die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool not found"
  done
}

# step TITLE: a numbered heading, on stdout in a dry run (the plan) and on stderr otherwise.
STEP=0
step() {
  STEP=$((STEP + 1))
  if [ "$DRY_RUN" = 1 ]; then
    printf '\n## step %d: %s\n' "$STEP" "$*"
  else
    log "step ${STEP}: $*"
  fi
}

# plan TEXT: one line of the plan (dry run only).
plan() {
  if [ "$DRY_RUN" = 1 ]; then printf '%s\n' "$*"; fi
}

# apply_url URL: a release manifest from the network.
apply_url() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl apply -f $1"
  else
    kubectl apply -f "$1"
  fi
}

# apply_url_server_side URL: a release manifest whose CRDs exceed client-side apply's annotation size.
apply_url_server_side() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl apply --server-side --force-conflicts -f $1"
  else
    kubectl apply --server-side --force-conflicts -f "$1"
  fi
}

# apply_file FILE: a manifest of this repository; a dry run prints it.
apply_file() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl apply -f ${1#"$ROOT"/}"
    sed 's/^/    /' "$1"
  else
    kubectl apply -f "$1"
  fi
}

# apply_kustomization DIR: a kustomization of this repository; a dry run prints it rendered.
apply_kustomization() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl apply -k ${1#"$ROOT"/}"
    kubectl kustomize "$1" | sed 's/^/    /'
  else
    kubectl apply -k "$1"
  fi
}

# apply_selected FILE SELECTOR: the objects of a rendered FILE whose labels match SELECTOR.
apply_selected() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl apply -f <rendered overlay> -l '$2'"
  else
    kubectl apply -f "$1" -l "$2"
  fi
}

# mutate CMD…: any other change to the cluster (delete, exec); printed in a dry run.
mutate() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "$*"
  else
    "$@"
  fi
}

# kwait ARGS…: `kubectl wait ARGS`, which must include --timeout=…; fails the install when it times out.
kwait() {
  case " $* " in
    *" --timeout="*) ;;
    *) die "kwait $*: every wait needs --timeout" ;;
  esac
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl wait $*"
  else
    kubectl wait "$@"
  fi
}

# krollout NAMESPACE KIND/NAME TIMEOUT: every replica of a Deployment/StatefulSet updated and ready.
krollout() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl -n $1 rollout status $2 --timeout=$3"
  else
    kubectl -n "$1" rollout status "$2" --timeout="$3"
  fi
}

# random_hex: 48 random hex digits (a generated password).
random_hex() {
  od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

# ensure_secret NAMESPACE NAME KEY PRODUCER: creates Secret NAME with one KEY, its value printed by the function
# PRODUCER, unless the Secret exists (an existing secret is never replaced). The value reaches kubectl on
# stdin, never on a command line, and is applied server-side (a client-side apply would copy it into the
# last-applied-configuration annotation); a dry run names the Secret and key, not the value.
ensure_secret() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl -n $1 get secret $2, else: kubectl apply --server-side -f - <Secret $1/$2, key $3 from $4>   # once, never replaced"
    return 0
  fi
  if kubectl -n "$1" get secret "$2" >/dev/null 2>&1; then
    log "secret $1/$2 exists: kept"
    return 0
  fi
  local value
  value=$("$4")
  printf 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: %s\ntype: Opaque\ndata:\n  %s: %s\n' \
    "$2" "$1" "$3" "$(printf '%s' "$value" | base64 | tr -d '\n')" | kubectl apply --server-side -f -
}

# wait_rollouts NAMESPACE: every Deployment in NAMESPACE is Available (10 minutes at most).
wait_rollouts() {
  kwait -n "$1" deployment --all --for=condition=Available --timeout=600s
}

# wait_crd NAME [TIMEOUT]: the CRD appears (it may be created by a controller, e.g. a Helm chart) and
# is Established.
wait_crd() {
  kwait --for=create "crd/$1" --timeout="${2:-600s}"
  kwait --for=condition=Established "crd/$1" --timeout=120s
}
