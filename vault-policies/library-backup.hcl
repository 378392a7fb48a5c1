# library-backup: DATABASE_URL, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY in its config.
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/library-backup/config" {
  capabilities = ["read"]
}
