# postgres (namespace isekai-data): superuser and application role passwords. Read-only.
path "kv/data/isekai-data/postgres/*" {
  capabilities = ["read"]
}
