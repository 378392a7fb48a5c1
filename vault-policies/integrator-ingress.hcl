# integrator-ingress: verifies integrators' tokens and forwards their events; its own settings only.
# Read-only; nothing else in kv/ is visible to it.
path "kv/data/isekai/integrator-ingress/*" {
  capabilities = ["read"]
}
