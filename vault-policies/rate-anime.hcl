# rate-anime: its own config and the shared Redis password (deletes cached aggregates). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/rate-anime/*" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis" {
  capabilities = ["read"]
}
