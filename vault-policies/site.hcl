# site: OIDC_CLIENT_SECRET (the isekai-site client's secret) in its config; REDIS_URL from the shared Redis
# secret (sessions). Read once at start by functions/lib/secrets.ts (loadFunctionEnv, role site). Read-only;
# nothing else in kv/ is visible to it. Token renewal (auth/token/renew-self) comes with Vault's built-in
# `default` policy.
path "kv/data/isekai/site/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis" {
  capabilities = ["read"]
}
