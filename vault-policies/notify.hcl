# notify: its own config (PostgreSQL, MongoDB credentials). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/notify/*" {
  capabilities = ["read"]
}
