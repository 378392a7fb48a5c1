#!/usr/bin/env bash
# Generates every secret Isekai reads from Vault that is not there yet, so a new cluster never runs on a
# value from this repository: passwords are random (48 hex characters, safe inside URLs), and the
# functions' URLs are composed from them. Idempotent: a secret that exists is kept as it is (rotate one
# with `vault kv patch` and a restart: k3s/RUNBOOK.md). Values travel on stdin, never on a command line.
# Runs after setup.sh (kv/ enabled); bucket keys are setup.sh's (copied from Rook's claims).
#   VAULT_ADDR=… VAULT_TOKEN=… ./seed-secrets.sh
set -euo pipefail
cd "$(dirname "$0")"

for tool in vault jq openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done
: "${VAULT_ADDR:?set VAULT_ADDR}"

random() { openssl rand -hex 24; }

# exists PATH: 0 when the KV v2 secret exists, 1 when Vault says there is none; any other failure stops.
exists() {
  local rc=0 err
  err=$(vault kv get -format=json "$1" 2>&1 >/dev/null) || rc=$?
  [ "$rc" -eq 0 ] && return 0
  case "$err" in
    *"No value found"*) return 1 ;;
  esac
  echo "error: vault kv get $1 failed (exit ${rc}): ${err}" >&2
  exit 1
}

# put_new PATH KEY=VALUE…: writes the secret unless it exists.
put_new() {
  local path=$1 kv
  shift
  # A value from a failed command substitution would be empty (set -e does not see it in an argument).
  for kv in "$@"; do
    case "$kv" in
      *=) echo "error: ${path}: ${kv%=} is empty" >&2; exit 1 ;;
    esac
  done
  if exists "$path"; then
    echo "kept     $path"
    return 0
  fi
  printf '%s\n' "$@" |
    jq -Rn '[inputs | capture("^(?<k>[^=]+)=(?<v>.*)$") | {(.k): .v}] | add' |
    vault kv put "$path" - >/dev/null
  echo "created  $path ($(printf '%s\n' "$@" | cut -d= -f1 | paste -sd, -))"
}

# field PATH KEY: one value of a secret.
field() { vault kv get -field="$2" "$1"; }

# Data workloads (namespace isekai-data): rendered into files by the Vault agent.
put_new kv/isekai-data/postgres/config \
  "POSTGRES_PASSWORD=$(random)" "ISEKAI_PASSWORD=$(random)" "ISEKAI_APP_PASSWORD=$(random)" \
  "KEYCLOAK_PASSWORD=$(random)"
# MONGO_KEYFILE: the replica set members' shared key (base64, 1008 characters; mongod allows 6–1024).
put_new kv/isekai-data/mongodb/config "MONGO_ROOT_PASSWORD=$(random)" \
  "MONGO_KEYFILE=$(openssl rand -base64 756 | tr -d '\n')"
put_new kv/isekai-data/redis/config "REDIS_PASSWORD=$(random)"
put_new kv/isekai-data/redis-sessions/config "REDIS_PASSWORD=$(random)"
KEYCLOAK_DB_PASSWORD=$(field kv/isekai-data/postgres/config KEYCLOAK_PASSWORD)
put_new kv/isekai-data/keycloak/config "db-password=${KEYCLOAK_DB_PASSWORD}" \
  "bootstrap-admin-username=admin" "bootstrap-admin-password=$(random)"
# The realm's confidential clients (knative/base/keycloak/README.md); the site and integrators get the same
# values from here.
put_new kv/isekai-data/keycloak/clients \
  "KC_ISEKAI_SITE_SECRET=$(random)" "KC_ISEKAI_INTEGRATIONS_SECRET=$(random)"

# Functions (namespace isekai): whole settings, read by functions/lib/secrets.ts.
# postgres-rw: the Service CloudNativePG points at the current primary (knative/base/600-postgres.yaml).
PG=postgres-rw.isekai-data.svc.cluster.local:5432
OWNER_PASSWORD=$(field kv/isekai-data/postgres/config ISEKAI_PASSWORD)
APP_PASSWORD=$(field kv/isekai-data/postgres/config ISEKAI_APP_PASSWORD)
MONGO_PASSWORD=$(field kv/isekai-data/mongodb/config MONGO_ROOT_PASSWORD)
REDIS_PASSWORD=$(field kv/isekai-data/redis/config REDIS_PASSWORD)
SESSIONS_PASSWORD=$(field kv/isekai-data/redis-sessions/config REDIS_PASSWORD)
OWNER_URL="postgres://isekai:${OWNER_PASSWORD}@${PG}/isekai"
# The DML-only role the functions use (created by 600-postgres.yaml's init script; README "Database roles").
APP_URL="postgres://isekai_app:${APP_PASSWORD}@${PG}/isekai"
# Every member of replica set rs0 (knative/base/600-mongodb.yaml): the driver finds the primary itself.
MONGO_HOSTS=mongodb-0.mongodb.isekai-data.svc.cluster.local:27017,mongodb-1.mongodb.isekai-data.svc.cluster.local:27017,mongodb-2.mongodb.isekai-data.svc.cluster.local:27017
MONGO_URL="mongodb://root:${MONGO_PASSWORD}@${MONGO_HOSTS}/isekai?authSource=admin&replicaSet=rs0"
REDIS_URL="redis://:${REDIS_PASSWORD}@redis.isekai-data.svc.cluster.local:6379"
# The site's sessions: their own Redis (noeviction), read by the site alone (knative/base/600-redis-sessions.yaml).
SESSION_REDIS_URL="redis://:${SESSIONS_PASSWORD}@redis-sessions.isekai-data.svc.cluster.local:6379"

put_new kv/isekai/shared/redis "REDIS_URL=${REDIS_URL}"
put_new kv/isekai/shared/redis-sessions "SESSION_REDIS_URL=${SESSION_REDIS_URL}"
# Notification e-mail: the unsubscribe links' HMAC key (notify signs, notifications verifies). The operator
# adds SMTP_URL (smtp://user:pass@host:587) here to turn sending on; without it mails stay queued.
put_new kv/isekai/shared/mail "UNSUBSCRIBE_KEY=$(random)"
put_new kv/isekai/schema-migrate/config "DATABASE_URL=${OWNER_URL}"
# The nightly dumps (knative/base/700-backups.yaml): the owner reads every table; MONGO_URL as the functions'.
put_new kv/isekai-data/backup/config "DATABASE_URL=${OWNER_URL}" "MONGO_URL=${MONGO_URL}"
for fn in catalog dead-letters groups library library-backup rate-anime; do
  put_new "kv/isekai/${fn}/config" "DATABASE_URL=${APP_URL}"
done
put_new kv/isekai/notify/config "DATABASE_URL=${APP_URL}" "MONGO_URL=${MONGO_URL}"
put_new kv/isekai/outbox-relay/config "DATABASE_URL=${APP_URL}" "MONGO_URL=${MONGO_URL}"
put_new kv/isekai/upload-subtitle/config "DATABASE_URL=${APP_URL}" "MONGO_URL=${MONGO_URL}"
put_new kv/isekai/notifications/config "MONGO_URL=${MONGO_URL}"
put_new kv/isekai/subtitles/config "MONGO_URL=${MONGO_URL}"
# The site is the realm's isekai-site client: the same secret Keycloak imported.
SITE_SECRET=$(field kv/isekai-data/keycloak/clients KC_ISEKAI_SITE_SECRET)
put_new kv/isekai/site/config "OIDC_CLIENT_SECRET=${SITE_SECRET}"
