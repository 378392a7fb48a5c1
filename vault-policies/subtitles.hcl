# subtitles: its own config and the subtitles bucket keys (downloads). Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/subtitles/*" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/object-store" {
  capabilities = ["read"]
}
