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

# The subtitles bucket keys are created by Rook (ObjectBucketClaim `subtitles`, keys AWS_*): copy them in
# under the names the functions read (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY).
if command -v kubectl >/dev/null && kubectl -n isekai get secret subtitles >/dev/null 2>&1; then
  vault kv put kv/isekai/shared/object-store \
    S3_ACCESS_KEY_ID="$(kubectl -n isekai get secret subtitles -o jsonpath='{.data.AWS_ACCESS_KEY_ID}' | base64 -d)" \
    S3_SECRET_ACCESS_KEY="$(kubectl -n isekai get secret subtitles -o jsonpath='{.data.AWS_SECRET_ACCESS_KEY}' | base64 -d)"
else
  echo "note: secret isekai/subtitles not found yet; re-run once the bucket claim is bound" >&2
fi

# Functions fetch their secrets themselves (functions/lib/secrets.ts): one KV v2 secret each, whole settings
# (DATABASE_URL=postgres://…), plus the shared ones their policy names; data workloads get files from the agent.
echo "Policies and roles written. Secrets still to put (vault kv put …), see README.md:"
jq -r '.roles[] | if .namespace == "isekai" then "  kv/isekai/\(.role)/config" else "  kv/isekai-data/\(.role)/config" end' roles.json
echo "  kv/isekai/shared/redis (REDIS_URL)"
echo "  kv/isekai/shared/object-store (S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY; copied from the bucket claim above)"
echo "  (kv/isekai/schema-migrate/config: the schema owner's DATABASE_URL; functions' DATABASE_URLs: a DML-only role)"
