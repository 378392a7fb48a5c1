#!/bin/sh
# PostgreSQL backup and restore, one step per container image (the CronJob and the restore Job in
# knative/base/700-backups.yaml run these steps; test/integration/backup-restore.test.ts runs the same):
#   postgres.sh dump <dir>       postgres image: pg_dump --format=custom of $DATABASE_URL → <dir>/<db>-<UTC>.dump
#   postgres.sh upload <dir>     backup image:   each <dir>/*.dump → s3://$BACKUP_BUCKET/postgres/<db>/
#   postgres.sh download <dir>   backup image:   the newest dump of <db> → <dir>/restore.dump
#   postgres.sh restore <dir>    postgres image: pg_restore --clean --if-exists --single-transaction into $DATABASE_URL
# <db> is $PGDUMP_NAME (default: the database name in DATABASE_URL). BACKUP_CLI is the backup CLI
# (default `node /app/backup.mjs`, the backup image). Exits non-zero on the first failure.
set -eu
step=${1:?usage: postgres.sh dump|upload|download|restore <dir>}
dir=${2:?usage: postgres.sh dump|upload|download|restore <dir>}
url=${DATABASE_URL:?DATABASE_URL is required}
name=${PGDUMP_NAME:-$(printf '%s' "$url" | sed -e 's|?.*||' -e 's|.*/||')}
cli=${BACKUP_CLI:-node /app/backup.mjs}
case $step in
  dump)
    file="$dir/$name-$(date -u +%Y%m%dT%H%M%SZ).dump"
    pg_dump --format=custom --compress=6 --no-password --dbname="$url" --file="$file.part"
    mv "$file.part" "$file"
    echo "dumped $file ($(wc -c <"$file") bytes)"
    ;;
  upload)
    found=0
    for file in "$dir"/*.dump; do
      [ -f "$file" ] || continue
      $cli put "$file" "postgres/$name/"
      found=1
    done
    [ "$found" = 1 ] || { echo "postgres.sh: no dump in $dir" >&2; exit 1; }
    ;;
  download)
    $cli get "postgres/$name/" "$dir/restore.dump"
    ;;
  restore)
    pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password \
      --dbname="$url" "$dir/restore.dump"
    echo "restored $dir/restore.dump into $name"
    ;;
  *) echo "postgres.sh: unknown step $step" >&2; exit 64 ;;
esac
