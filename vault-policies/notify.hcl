# notify: DATABASE_URL and MONGO_URL in its config; REDIS_URL from the shared Redis secret (live signals).
# Read once at start by functions/lib/secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible
# to it. Token renewal (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/notify/config" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis" {
  capabilities = ["read"]
}

# UNSUBSCRIBE_KEY (both) and SMTP_URL (notify, once an operator adds it): the shared mail secret.
path "kv/data/isekai/shared/mail" {
  capabilities = ["read"]
}
