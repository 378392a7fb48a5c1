#!/bin/sh
# MongoDB backup and restore with the backup image's driver-level dump (scripts/backup.ts: canonical
# Extended JSON lines, indexes first; not mongodump, see there). The CronJob and the restore Job in
# knative/base/700-backups.yaml run these; test/integration/backup-restore.test.ts runs the same:
#   mongodb.sh backup <dir>    dump $MONGO_DATABASE → <dir>/<db>-<UTC>.jsonl.gz → s3://$BACKUP_BUCKET/mongodb/<db>/
#   mongodb.sh restore <dir>   the newest archive of <db> → <dir>/restore.jsonl.gz → restored into $MONGO_DATABASE
# BACKUP_CLI is the backup CLI (default `node /app/backup.mjs`). Exits non-zero on the first failure.
set -eu
step=${1:?usage: mongodb.sh backup|restore <dir>}
dir=${2:?usage: mongodb.sh backup|restore <dir>}
db=${MONGO_DATABASE:?MONGO_DATABASE is required}
cli=${BACKUP_CLI:-node /app/backup.mjs}
case $step in
  backup)
    file="$dir/$db-$(date -u +%Y%m%dT%H%M%SZ).jsonl.gz"
    $cli mongo-dump "$file"
    $cli put "$file" "mongodb/$db/"
    ;;
  restore)
    $cli get "mongodb/$db/" "$dir/restore.jsonl.gz"
    $cli mongo-restore "$dir/restore.jsonl.gz"
    ;;
  *) echo "mongodb.sh: unknown step $step" >&2; exit 64 ;;
esac
