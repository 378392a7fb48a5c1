# catalog: its own config and the shared Redis password (cache-aside reads). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/catalog/*" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/redis" {
  capabilities = ["read"]
}
