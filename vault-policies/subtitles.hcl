# subtitles: MONGO_URL in its config; the subtitles bucket keys from the shared object-store secret.
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/subtitles/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/object-store" {
  capabilities = ["read"]
}
