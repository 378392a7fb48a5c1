# library-backup: DATABASE_URL in its config; S3 keys of bucket isekai-backups from the shared backup-store
# secret (copied from Rook's claim `backups` by setup.sh).
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/library-backup/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/backup-store" {
  capabilities = ["read"]
}
