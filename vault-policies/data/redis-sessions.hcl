# redis-sessions (namespace isekai-data, knative/base/600-redis-sessions.yaml): requirepass, rendered by the
# Vault agent. Read-only, its own folder only.
path "kv/data/isekai-data/redis-sessions/*" {
  capabilities = ["read"]
}
