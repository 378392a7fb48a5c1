# schema-migrate (Job knative/base/250-schema-migrate.yaml): DATABASE_URL in its config, the schema owner's
# credentials (DDL: CREATE/ALTER on the isekai schema). Functions' own DATABASE_URLs are a DML-only role
# (README.md "Database roles"); only this Job holds the owner's. Read once at start by functions/lib/
# secrets.ts (loadFunctionEnv). Read-only; nothing else in kv/ is visible to it. Token renewal
# (auth/token/renew-self) comes with Vault's built-in `default` policy.
path "kv/data/isekai/schema-migrate/config" {
  capabilities = ["read"]
}
