# library: its own config (PostgreSQL credentials). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/library/*" {
  capabilities = ["read"]
}
