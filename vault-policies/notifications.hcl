# notifications: its own config (MongoDB credentials). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/notifications/*" {
  capabilities = ["read"]
}
