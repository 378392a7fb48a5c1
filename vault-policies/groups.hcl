# groups: DATABASE_URL in its config. Read once at start by functions/lib/secrets.ts (loadFunctionEnv).
# Read-only; nothing else in kv/ is visible to it. Token renewal comes with Vault's built-in `default` policy.
path "kv/data/isekai/groups/config" {
  capabilities = ["read"]
}
