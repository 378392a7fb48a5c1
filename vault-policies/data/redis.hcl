# redis (namespace isekai-data): requirepass. Read-only.
path "kv/data/isekai-data/redis/*" {
  capabilities = ["read"]
}
