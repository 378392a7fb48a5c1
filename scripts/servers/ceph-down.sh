#!/usr/bin/env bash
# Stops what ceph-up.sh started (by the pid files in $CEPH_DIR/run) and removes $CEPH_DIR.
# Never kills by name: a Ceph started by someone else is left alone.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=${CEPH_DIR:-$REPO/.tmp/ceph-rgw}
[ -d "$D" ] || exit 0

alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }

# The pid still runs a Ceph daemon: guards against a pid recycled since the pid file was written.
ours() { tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -Eq '(ceph-mon|ceph-osd|radosgw)'; }

for name in client.rgw.a osd.0 mon.a; do
  f="$D/run/$name.pid"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if [ -n "$pid" ] && alive "$pid" && ours "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.1; done
    if alive "$pid"; then
      echo "[ceph-down] $name ($pid) ignored SIGTERM for 10 s; SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
done
rm -rf "$D"
