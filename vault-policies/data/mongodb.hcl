# mongodb (namespace isekai-data): root password. Read-only.
path "kv/data/isekai-data/mongodb/*" {
  capabilities = ["read"]
}
