# edge-auth: verifies JWTs; its own settings only. Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/edge-auth/*" {
  capabilities = ["read"]
}
