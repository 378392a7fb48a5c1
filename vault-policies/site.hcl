# site: OIDC_CLIENT_SECRET (the isekai-site client's secret) in its config; SESSION_REDIS_URL from the
# sessions' Redis secret (knative/base/600-redis-sessions.yaml), which no other policy grants. Read once at
# start by functions/lib/secrets.ts (loadFunctionEnv, role site). Read-only; nothing else in kv/ is visible
# to it (not the cache Redis: the site keeps nothing there). Token renewal (auth/token/renew-self) comes with
# Vault's built-in `default` policy.
path "kv/data/isekai/site/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis-sessions" {
  capabilities = ["read"]
}
