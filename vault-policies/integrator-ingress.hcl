# integrator-ingress: no secret today (it verifies tokens against a public JWKS); the own path lets a setting move
# to Vault without a policy change.
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/integrator-ingress/config" {
  capabilities = ["read"]
}
