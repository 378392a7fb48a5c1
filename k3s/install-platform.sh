#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Installs the platform on a running k3s cluster, in dependency order, and stops at the first step that
# does not converge (every wait is bounded; nothing is masked):
#   namespaces → cert-manager → Knative Serving + Kourier → Knative Eventing → RabbitMQ operators →
#   eventing-rabbitmq → CloudNativePG operator → Rook + Ceph + buckets bound → Vault initialised, unsealed,
#   configured, secrets generated → PostgreSQL's Secrets from Vault → Prometheus, Alertmanager, Grafana →
#   data stores ready (PostgreSQL Cluster Ready, MongoDB replica set initiated) → schema migration Job complete → functions ready → Broker and
#   Triggers ready.
# Idempotent: re-running re-applies the same versions, never re-initialises Vault, never replaces a
# secret, and re-runs the migration Job (applied migrations are skipped).
#   KUBECONFIG=… [ALERT_WEBHOOK_URL=https://…] ./install-platform.sh [--dry-run] [production|local]
# ALERT_WEBHOOK_URL (production, first install): the webhook Alertmanager calls; kept in a Secret afterwards.
# --dry-run prints the plan and the manifests it would apply (rendered), and touches nothing.
# Production needs kubectl >= 1.31 (wait --for=create), vault, jq and openssl on this machine; Vault's
# unseal keys and root token are written once to $VAULT_INIT_FILE (default ~/.isekai/vault-init.json).
set -euo pipefail
cd "$(dirname "$0")"
. ./versions.env
. ./lib.sh
release_urls

OVERLAY=production
for arg in "$@"; do
  case "$arg" in
    --dry-run) DRY_RUN=1 ;;
    production | local) OVERLAY=$arg ;;
    *) die "usage: install-platform.sh [--dry-run] [production|local]" ;;
  esac
done
ROOT=$(cd .. && pwd)
VAULT_INIT_FILE=${VAULT_INIT_FILE:-$HOME/.isekai/vault-init.json}
VAULT_LOCAL_PORT=${VAULT_LOCAL_PORT:-18200}
POLL_SECONDS=${POLL_SECONDS:-2}
# Where Alertmanager sends alerts (a chat or paging webhook); needed once, when its Secret does not exist yet.
ALERT_WEBHOOK_URL=${ALERT_WEBHOOK_URL:-}
alert_webhook_url() {
  if [ -n "$ALERT_WEBHOOK_URL" ]; then
    printf '%s' "$ALERT_WEBHOOK_URL"
  elif [ "$OVERLAY" = local ]; then
    # Nothing listens there: local alerts are read in Alertmanager's UI.
    printf 'http://127.0.0.1:9/no-receiver'
  else
    die "ALERT_WEBHOOK_URL is not set: the webhook Alertmanager sends alerts to (Secret monitoring/alertmanager-receiver)"
  fi
}
need kubectl
[ "$OVERLAY" = local ] || [ "$DRY_RUN" = 1 ] || need vault jq openssl

WORK=$(mktemp -d)
PORT_FORWARD_PID=
cleanup() {
  if [ -n "$PORT_FORWARD_PID" ]; then kill "$PORT_FORWARD_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The overlay, rendered once: every phase below applies a label-selected part of this same file.
RENDERED="$WORK/isekai.yaml"
kubectl kustomize "$ROOT/knative/overlays/$OVERLAY" >"$RENDERED"
# Stateful dependencies (namespace isekai-data), selected by their app.kubernetes.io/name.
DATA='app.kubernetes.io/name in (postgres,mongodb,redis,redis-sessions,keycloak,zipkin,rabbitmq)'

# vault_secret NAME TYPE VAULT_PATH JQ: Secret isekai-data/NAME whose stringData is JQ applied to the data
# of Vault's VAULT_PATH; a missing value fails (never an empty password). Dry run: the plan line only.
# Server-side apply: a client-side apply copies the whole object, values included, into the
# kubectl.kubernetes.io/last-applied-configuration annotation, readable by anyone who may read the object's
# metadata.
vault_secret() {
  if [ "$DRY_RUN" = 1 ]; then
    plan "vault kv get -format=json $3 | jq '<Secret isekai-data/$1 ($2): $4>' | kubectl apply --server-side -f -"
    return 0
  fi
  vault kv get -format=json "$3" |
    jq -e --arg name "$1" --arg type "$2" '
      {apiVersion: "v1", kind: "Secret", type: $type,
       metadata: {name: $name, namespace: "isekai-data", labels: {"app.kubernetes.io/part-of": "isekai"}},
       stringData: (.data.data | '"$4"')}
      | if ([.stringData[]] | all(type == "string" and length > 0)) then . else error("\($name): a value is missing in Vault") end' |
    kubectl apply --server-side -f -
}
if [ "$DRY_RUN" = 1 ]; then
  printf '# Isekai install plan: overlay %s, Knative %s, Rook %s, Vault chart %s\n' \
    "$OVERLAY" "$KNATIVE_SERVING_VERSION" "$ROOK_VERSION" "$VAULT_CHART_VERSION"
fi

step "namespaces isekai and isekai-data (before anything is placed in them, the bucket claims included)"
apply_file "$ROOT/knative/base/100-namespace.yaml"

step "cert-manager ${CERT_MANAGER_VERSION}"
apply_url "$CERT_MANAGER_URL"
wait_rollouts cert-manager

step "Knative Serving ${KNATIVE_SERVING_VERSION} + Kourier ${KNATIVE_NET_KOURIER_VERSION}, our Serving settings"
apply_url "$SERVING_CRDS_URL"
kwait crd -l knative.dev/crd-install=true --for=condition=Established --timeout=120s
apply_url "$SERVING_CORE_URL"
apply_url "$KOURIER_URL"
apply_file platform/knative-serving-config.yaml
# Kourier reachable only from nginx on the edge node: its gateway runs there, and kourier-system denies the rest.
apply_file platform/kourier-network-policy.yaml
mutate kubectl -n kourier-system patch deployment 3scale-kourier-gateway --patch-file platform/kourier-gateway-edge.patch.yaml
wait_rollouts knative-serving
krollout kourier-system deployment/3scale-kourier-gateway 600s

step "Knative Eventing ${KNATIVE_EVENTING_VERSION}"
apply_url "$EVENTING_CRDS_URL"
kwait crd -l knative.dev/crd-install=true --for=condition=Established --timeout=120s
apply_url "$EVENTING_CORE_URL"
apply_file platform/knative-eventing-config.yaml
wait_rollouts knative-eventing

step "RabbitMQ cluster operator ${RABBITMQ_CLUSTER_OPERATOR_VERSION} and messaging topology operator ${RABBITMQ_TOPOLOGY_OPERATOR_VERSION}"
apply_url "$RABBITMQ_CLUSTER_OPERATOR_URL"
wait_crd rabbitmqclusters.rabbitmq.com
wait_rollouts rabbitmq-system
# The topology operator's webhook certificate comes from cert-manager (installed above).
apply_url "$RABBITMQ_TOPOLOGY_OPERATOR_URL"
wait_rollouts rabbitmq-system

step "eventing-rabbitmq ${EVENTING_RABBITMQ_VERSION}"
apply_url "$EVENTING_RABBITMQ_URL"
wait_crd rabbitmqbrokerconfigs.eventing.knative.dev
wait_rollouts knative-eventing

step "CloudNativePG operator ${CNPG_VERSION} (PostgreSQL Cluster, ScheduledBackup, Database)"
# Server-side: the CRDs exceed the size of client-side apply's last-applied annotation.
apply_url_server_side "$CNPG_URL"
wait_crd clusters.postgresql.cnpg.io
wait_crd scheduledbackups.postgresql.cnpg.io
wait_crd databases.postgresql.cnpg.io
# Its webhooks validate every Cluster: the operator must be up before the first one is applied.
wait_rollouts cnpg-system

if [ "$OVERLAY" = production ]; then
  step "Rook ${ROOK_VERSION}: operator, then the Ceph cluster, block pool, object store and bucket claims"
  apply_file "$ROOT/rook/100-operator.yaml"
  # k3s' Helm controller installs the chart in a Job: the CRDs and the operator appear some time later.
  wait_crd cephclusters.ceph.rook.io
  wait_crd objectbucketclaims.objectbucket.io
  kwait -n rook-ceph --for=create deployment/rook-ceph-operator --timeout=600s
  wait_rollouts rook-ceph
  apply_kustomization "$ROOT/rook"
  kwait -n rook-ceph cephcluster/rook-ceph --for=jsonpath='{.status.phase}'=Ready --timeout=1800s
  kwait -n rook-ceph cephobjectstore/isekai-objects --for=jsonpath='{.status.phase}'=Ready --timeout=900s
  # Bound: the bucket exists and its Secret (keys) and ConfigMap are written in namespace isekai.
  kwait -n isekai objectbucketclaim --all --for=jsonpath='{.status.phase}'=Bound --timeout=600s

  step "Vault ${VAULT_CHART_VERSION}: server + agent injector (its volume on rook-ceph-block)"
  apply_file platform/vault.yaml
  kwait -n vault --for=create pod/vault-0 --timeout=600s
  # Running, not Ready: a sealed Vault fails its readiness probe until it is unsealed below.
  kwait -n vault pod/vault-0 --for=jsonpath='{.status.phase}'=Running --timeout=600s

  step "Vault initialised (once) and unsealed; then policies, roles and generated secrets"
  if [ "$DRY_RUN" = 1 ]; then
    plan "kubectl -n vault port-forward pod/vault-0 ${VAULT_LOCAL_PORT}:8200 (until the install ends)"
    plan "VAULT_INIT_FILE=${VAULT_INIT_FILE} ./vault-unseal.sh   # init once (keys → that file), unseal"
  else
    kubectl -n vault port-forward pod/vault-0 "${VAULT_LOCAL_PORT}:8200" >"$WORK/port-forward.log" 2>&1 &
    PORT_FORWARD_PID=$!
    export VAULT_ADDR="http://127.0.0.1:${VAULT_LOCAL_PORT}"
    answered=0
    for _ in $(seq 1 30); do
      rc=0
      vault status >/dev/null 2>&1 || rc=$?
      # 0: unsealed, 2: sealed (or not initialised); anything else: not reachable yet.
      if [ "$rc" -eq 0 ] || [ "$rc" -eq 2 ]; then
        answered=1
        break
      fi
      kill -0 "$PORT_FORWARD_PID" 2>/dev/null || die "port-forward to vault-0 exited: $(cat "$WORK/port-forward.log")"
      sleep "$POLL_SECONDS"
    done
    [ "$answered" = 1 ] || die "Vault did not answer at ${VAULT_ADDR} (30 tries)"
    VAULT_INIT_FILE="$VAULT_INIT_FILE" ./vault-unseal.sh
  fi
  kwait -n vault pod/vault-0 --for=condition=Ready --timeout=300s
  # The agent injector's webhook adds the Vault agent to the data pods: a pod admitted while it is not
  # serving starts without its secrets (the webhook fails open), so it is rolled out before any data pod.
  krollout vault deployment/vault-agent-injector 600s
  if [ "$DRY_RUN" = 1 ]; then
    plan "VAULT_TOKEN=<root token from ${VAULT_INIT_FILE}, or \$VAULT_TOKEN> ../vault-policies/setup.sh"
    plan "../vault-policies/seed-secrets.sh   # every missing secret generated; existing ones kept"
  else
    if [ -z "${VAULT_TOKEN:-}" ]; then
      VAULT_TOKEN=$(jq -er .root_token "$VAULT_INIT_FILE") || die "no VAULT_TOKEN and no root token in ${VAULT_INIT_FILE}"
    fi
    export VAULT_TOKEN
    REQUIRE_BUCKETS=1 "$ROOT/vault-policies/setup.sh"
    "$ROOT/vault-policies/seed-secrets.sh"
  fi

  step "PostgreSQL's Secrets, generated from Vault (CloudNativePG reads Kubernetes Secrets, not Vault)"
  # Role passwords (basic-auth, as the operator expects) and the backup bucket's keys for barman-cloud. The
  # values travel from vault to kubectl through a pipe only; re-running re-applies the same values.
  vault_secret postgres-role-isekai kubernetes.io/basic-auth kv/isekai-data/postgres/config \
    '{username: "isekai", password: .ISEKAI_PASSWORD}'
  vault_secret postgres-role-isekai-app kubernetes.io/basic-auth kv/isekai-data/postgres/config \
    '{username: "isekai_app", password: .ISEKAI_APP_PASSWORD}'
  vault_secret postgres-role-keycloak kubernetes.io/basic-auth kv/isekai-data/postgres/config \
    '{username: "keycloak", password: .KEYCLOAK_PASSWORD}'
  vault_secret backup-store Opaque kv/isekai/shared/backup-store \
    '{ACCESS_KEY_ID: .S3_ACCESS_KEY_ID, ACCESS_SECRET_KEY: .S3_SECRET_ACCESS_KEY}'
fi

# Storage (Rook) exists from here on in production; Prometheus and Alertmanager watch the rest of the install.
step "observability: Prometheus ${PROMETHEUS_VERSION}, Alertmanager ${ALERTMANAGER_VERSION}, Grafana ${GRAFANA_VERSION}, blackbox exporter ${BLACKBOX_EXPORTER_VERSION} (namespace monitoring)"
apply_file "$ROOT/k3s/observability/k8s/namespace.yaml"
# Created once and never replaced: the receiver's webhook URL (ALERT_WEBHOOK_URL) and Grafana's admin password.
ensure_secret monitoring alertmanager-receiver webhook-url alert_webhook_url
ensure_secret monitoring grafana-admin admin-password random_hex
if [ "$OVERLAY" = production ]; then
  apply_kustomization "$ROOT/k3s/observability"
else
  apply_kustomization "$ROOT/k3s/monitoring-local"
fi
krollout monitoring statefulset/prometheus 600s
krollout monitoring deployment/alertmanager 300s
krollout monitoring deployment/grafana 300s
krollout monitoring deployment/blackbox-exporter 300s

step "Isekai foundation: RBAC, network policies, Broker config, generated Secrets (objects without app.kubernetes.io/name)"
if [ "$DRY_RUN" = 1 ]; then
  plan "kubectl kustomize knative/overlays/${OVERLAY}   # rendered once; each phase applies a labelled part:"
  sed 's/^/    /' "$RENDERED"
fi
apply_selected "$RENDERED" '!app.kubernetes.io/name'

step "data stores: PostgreSQL, MongoDB, Redis (cache, sessions), Keycloak, Zipkin, RabbitMQ (namespace isekai-data), ready"
apply_selected "$RENDERED" "$DATA"
# Ready: every instance streaming, the primary serving behind postgres-rw (initdb, then two standbys cloned).
kwait -n isekai-data clusters.postgresql.cnpg.io/postgres --for=condition=Ready --timeout=1200s
krollout isekai-data statefulset/mongodb 600s
# Every member up: initiate replica set rs0 (or add new members), then wait for its primary (idempotent).
mutate kubectl -n isekai-data exec mongodb-0 -c mongodb -- sh /scripts/replica-set.sh
krollout isekai-data deployment/redis 300s
# The site's sessions (noeviction, AOF): before the site's revision, which needs it to sign anyone in.
krollout isekai-data statefulset/redis-sessions 300s
krollout isekai-data deployment/zipkin 300s
kwait -n isekai-data rabbitmqcluster/rabbitmq --for=condition=AllReplicasReady --timeout=900s
# Keycloak needs PostgreSQL (database keycloak) and imports the realm on its first start.
krollout isekai-data deployment/keycloak 900s

step "schema migration: Job isekai/schema-migrate, complete before any function revision rolls out"
# A Job's pod template is immutable: the previous release's run is dropped first (knative/README.md).
mutate kubectl -n isekai delete job schema-migrate --ignore-not-found
apply_selected "$RENDERED" 'app.kubernetes.io/name=schema-migrate'
# activeDeadlineSeconds 900 bounds the Job itself; a failed Job never completes, so this wait fails too.
kwait -n isekai job/schema-migrate --for=condition=complete --timeout=960s

step "functions, their Triggers, SinkBindings and PingSources (the whole overlay, re-applied)"
if [ "$DRY_RUN" = 1 ]; then
  plan "kubectl apply -f <rendered overlay>"
else
  kubectl apply -f "$RENDERED"
fi
kwait -n isekai ksvc --all --for=condition=Ready --timeout=600s

step "Broker and Triggers ready (their subscribers exist now), sources bound"
kwait -n isekai broker/default --for=condition=Ready --timeout=300s
kwait -n isekai trigger --all --for=condition=Ready --timeout=300s
kwait -n isekai sinkbinding --all --for=condition=Ready --timeout=300s
kwait -n isekai pingsource --all --for=condition=Ready --timeout=300s

if [ "$DRY_RUN" = 1 ]; then
  printf '\n# dry run: nothing was applied\n'
else
  log "done: kn service list -n isekai; kn trigger list -n isekai"
fi
