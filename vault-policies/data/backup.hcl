# backup (namespace isekai-data): the nightly dump CronJobs (knative/base/700-backups.yaml). The Vault agent
# renders /vault/secrets/env from its own config (DATABASE_URL as the schema owner, MONGO_URL) and the S3 keys
# of bucket claim isekai/backups (copied by setup.sh). Read-only.
path "kv/data/isekai-data/backup/*" {
  capabilities = ["read"]
}

path "kv/data/isekai/shared/backup-store" {
  capabilities = ["read"]
}
