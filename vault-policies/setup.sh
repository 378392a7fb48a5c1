#!/usr/bin/env bash
# Configures Vault for Isekai: KV v2 at kv/, the Kubernetes auth method, one policy per workload and
# one role per ServiceAccount (roles.json). Idempotent. Needs: vault (logged in with a token allowed
# to manage sys/ and auth/), jq, and kubectl for the bucket keys.
#   VAULT_ADDR=… VAULT_TOKEN=… ./setup.sh
set -euo pipefail
cd "$(dirname "$0")"

for tool in vault jq; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found" >&2; exit 1; }
done
: "${VAULT_ADDR:?set VAULT_ADDR}"

if ! vault secrets list -format=json | jq -e 'has("kv/")' >/dev/null; then
  vault secrets enable -path=kv kv-v2
fi

if ! vault auth list -format=json | jq -e 'has("kubernetes/")' >/dev/null; then
  vault auth enable kubernetes
fi
# Vault runs in the cluster: it reviews tokens with its own ServiceAccount (system:auth-delegator,
# granted by the Helm chart) and the in-pod CA, so only the API address is needed.
vault write auth/kubernetes/config kubernetes_host="https://kubernetes.default.svc:443"

jq -c '.roles[]' roles.json | while read -r role; do
  name=$(jq -r '.role' <<<"$role")
  policy=$(jq -r '.policy' <<<"$role")
  vault policy write "$policy" "$(jq -r '.policyFile' <<<"$role")"
  vault write "auth/kubernetes/role/${name}" \
    bound_service_account_names="$(jq -r '.serviceAccount' <<<"$role")" \
    bound_service_account_namespaces="$(jq -r '.namespace' <<<"$role")" \
    token_policies="$policy" \
    token_ttl="$(jq -r '.ttl' <<<"$role")"
done

# Bucket keys are created by Rook (one ObjectBucketClaim per bucket, rook/400-object.yaml; Secret keys
# AWS_*): each is copied under the names the functions read (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY) into
# the shared secret its readers name (`sharedSecrets` in functions/<name>/settings.ts).
#   claim isekai/subtitles → kv/isekai/shared/object-store (subtitles, upload-subtitle)
#   claim isekai/backups   → kv/isekai/shared/backup-store (library, library-backup)
# REQUIRE_BUCKETS=1 (k3s/install-platform.sh, after the claims are Bound): a missing Secret is an error.
for pair in subtitles:object-store backups:backup-store; do
  claim=${pair%%:*}
  shared=${pair#*:}
  if command -v kubectl >/dev/null && kubectl -n isekai get secret "$claim" >/dev/null 2>&1; then
    key_id=$(kubectl -n isekai get secret "$claim" -o jsonpath='{.data.AWS_ACCESS_KEY_ID}' | base64 -d)
    secret=$(kubectl -n isekai get secret "$claim" -o jsonpath='{.data.AWS_SECRET_ACCESS_KEY}' | base64 -d)
    # On stdin as JSON, so the keys are on no command line.
    printf '%s\n%s\n' "$key_id" "$secret" |
      jq -Rn '{S3_ACCESS_KEY_ID: input, S3_SECRET_ACCESS_KEY: input}' |
      vault kv put "kv/isekai/shared/${shared}" - >/dev/null
    echo "kv/isekai/shared/${shared}: keys of bucket claim isekai/${claim}"
  elif [ "${REQUIRE_BUCKETS:-0}" = 1 ]; then
    echo "error: secret isekai/${claim} not found (is ObjectBucketClaim isekai/${claim} Bound?)" >&2
    exit 1
  else
    echo "note: secret isekai/${claim} not found yet; re-run once the bucket claim is bound" >&2
  fi
done

# Functions fetch their secrets themselves (functions/lib/secrets.ts): one KV v2 secret each, whole settings
# (DATABASE_URL=postgres://…), plus the shared ones their policy names; data workloads get files from the agent.
echo "Policies and roles written. Secrets: ./seed-secrets.sh generates every missing one (README.md)."
