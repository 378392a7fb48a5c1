# outbox-relay: DATABASE_URL (the outbox table) and MONGO_URL (the subtitle documents' pending events) in
# its config.
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/outbox-relay/config" {
  capabilities = ["read"]
}
