# keycloak (namespace isekai-data): database and bootstrap admin passwords. Read-only.
path "kv/data/isekai-data/keycloak/*" {
  capabilities = ["read"]
}
