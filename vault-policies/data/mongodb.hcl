# mongodb (namespace isekai-data): root password and the replica set's keyfile. Read-only.
path "kv/data/isekai-data/mongodb/*" {
  capabilities = ["read"]
}
