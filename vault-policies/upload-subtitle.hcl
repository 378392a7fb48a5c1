# upload-subtitle: its own config and the subtitles bucket keys (uploads). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/upload-subtitle/*" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/object-store" {
  capabilities = ["read"]
}
