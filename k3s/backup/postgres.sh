#!/bin/sh
# PostgreSQL backup and restore, one step per container image (the CronJob and the restore Job in
# knative/base/700-backups.yaml run these steps; test/integration/backup-restore.test.ts runs the same):
#   postgres.sh dump <dir>       postgres image: pg_dump --format=custom of $DATABASE_URL → <dir>/<db>-<UTC>.dump
#   postgres.sh upload <dir>     backup image:   each <dir>/*.dump → s3://$BACKUP_BUCKET/postgres/<db>/
#   postgres.sh download <dir>   backup image:   the newest dump of <db> → <dir>/restore.dump
#   postgres.sh restore <dir>    postgres image: pg_restore --clean --if-exists --single-transaction into $DATABASE_URL
# <db> is $PGDUMP_NAME (default: the database name in DATABASE_URL). BACKUP_CLI is the backup CLI
# (default `node /app/backup.mjs`, the backup image). Exits non-zero on the first failure.
# The password never reaches a command line (/proc/<pid>/cmdline is readable by every process on the node):
# pg_dump and pg_restore get DATABASE_URL without it and read it from a libpq password file (PGPASSFILE,
# mode 0600, made in $TMPDIR — a memory-backed emptyDir in the CronJob — and removed on exit); DATABASE_URL
# is not in their environment either.
set -eu
step=${1:?usage: postgres.sh dump|upload|download|restore <dir>}
dir=${2:?usage: postgres.sh dump|upload|download|restore <dir>}
url=${DATABASE_URL:?DATABASE_URL is required}
name=${PGDUMP_NAME:-$(printf '%s' "$url" | sed -e 's|?.*||' -e 's|.*/||')}
cli=${BACKUP_CLI:-node /app/backup.mjs}

# $conn: DATABASE_URL without its password; $password: the password, percent-decoded (libpq's file is raw).
case $url in
  postgres://* | postgresql://*) ;;
  *) echo "postgres.sh: DATABASE_URL must be a postgres:// URL" >&2; exit 64 ;;
esac
rest=${url#*://}
authority=${rest%%[/?]*}
case $authority in
  *@*) userinfo=${authority%@*} hostport=${authority##*@} ;;
  *) userinfo='' hostport=$authority ;;
esac
case $userinfo in
  *:*) user=${userinfo%%:*} password=${userinfo#*:} ;;
  *) user=$userinfo password='' ;;
esac
conn="${url%%://*}://${user:+$user@}${hostport}${rest#"$authority"}"
password=$(printf '%s' "$password" | LC_ALL=C awk '
  BEGIN { for (i = 0; i < 256; i++) byte[sprintf("%02X", i)] = sprintf("%c", i) }
  { s = $0; out = ""
    while ((i = index(s, "%")) > 0) {
      h = toupper(substr(s, i + 1, 2))
      if (!(h in byte)) { print "postgres.sh: a bad %-escape in the password" > "/dev/stderr"; exit 65 }
      out = out substr(s, 1, i - 1) byte[h]; s = substr(s, i + 3)
    }
    printf "%s", out s }')

case $password in
  *'
'*) echo "postgres.sh: a password with a line break cannot go in a password file" >&2; exit 65 ;;
esac

passfile=''
cleanup() { if [ -n "$passfile" ]; then rm -f "$passfile"; fi; }
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# write_passfile: a libpq password file holding the password (none when the URL has none), removed on exit. Any
# host, port, database and user match: the file serves this run only.
write_passfile() {
  [ -n "$password" ] || return 0
  passfile=$(umask 077 && mktemp "${TMPDIR:-/tmp}/pgpass.XXXXXX")
  printf '*:*:*:*:%s\n' "$(printf '%s' "$password" | sed 's/[\\:]/\\&/g')" >"$passfile"
}

# pg CMD ARGS…: CMD (pg_dump, pg_restore) reading the password from the file, DATABASE_URL not in its environment.
pg() (
  unset DATABASE_URL
  if [ -n "$passfile" ]; then
    PGPASSFILE=$passfile
    export PGPASSFILE
  fi
  "$@"
)

case $step in
  dump)
    file="$dir/$name-$(date -u +%Y%m%dT%H%M%SZ).dump"
    write_passfile
    pg pg_dump --format=custom --compress=6 --no-password --dbname="$conn" --file="$file.part"
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
    write_passfile
    pg pg_restore --clean --if-exists --single-transaction --exit-on-error --no-password \
      --dbname="$conn" "$dir/restore.dump"
    echo "restored $dir/restore.dump into $name"
    ;;
  *) echo "postgres.sh: unknown step $step" >&2; exit 64 ;;
esac
