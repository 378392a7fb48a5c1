# library: DATABASE_URL in its config; REDIS_URL from the shared Redis secret (a write drops cached catalog objects);
# S3 keys of bucket isekai-backups from the shared backup-store secret (copied from Rook's claim by setup.sh).
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/library/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/backup-store" {
  capabilities = ["read"]
}
