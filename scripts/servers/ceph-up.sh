#!/usr/bin/env bash
# Starts a throwaway single-node Ceph (1 mon, 1 memstore OSD, no mgr) and a radosgw (beast) on
# http://127.0.0.1:40180 with an S3 user, everything under $CEPH_DIR (default <repo>/.tmp/ceph-rgw).
# Needs: ceph-mon ceph-osd radosgw ceph-common (Debian 12: pacific 16.2), curl; run as root.
# Writes $CEPH_DIR/env (S3_* variables); RGW_ACCESS_KEY / RGW_SECRET_KEY override the fixed dev keys.
# Stop with ceph-down.sh. Ports: mon 40100 (v2) / 40189 (v1), OSD 40200-40299, RGW 40180.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=${CEPH_DIR:-$REPO/.tmp/ceph-rgw}
RGW_PORT=${RGW_PORT:-40180}
MON_V2=${MON_V2_PORT:-40100}
MON_V1=${MON_V1_PORT:-40189}
# Fixed development credentials for a throwaway local gateway; not the secret of any real system.
ACCESS_KEY=${RGW_ACCESS_KEY:-ISEKAIDEVACCESSKEY00}
SECRET_KEY=${RGW_SECRET_KEY:-isekai-dev-secret-key-for-local-rgw-only}
DEADLINE_S=${CEPH_UP_DEADLINE_S:-60}
ENDPOINT="http://127.0.0.1:$RGW_PORT"

t0=$(date +%s%N)
log() { printf '[ceph-up +%4d ms] %s\n' $((($(date +%s%N) - t0) / 1000000)) "$*"; }
die() { log "ERROR: $*"; for f in "$D"/log/*.log; do [ -f "$f" ] && { echo "--- tail $f"; tail -n 20 "$f"; }; done; exit 1; }

for bin in ceph-mon ceph-osd radosgw radosgw-admin ceph ceph-authtool monmaptool curl; do
  command -v "$bin" >/dev/null || die "$bin not found (run scripts/install-deps.sh)"
done

if curl -fsS -o /dev/null --max-time 1 "$ENDPOINT/"; then
  log "something already answers on $ENDPOINT; not starting another"
  exit 0
fi

# A previous run that was not stopped cleanly: stop what its pid files name, then start from scratch.
if [ -d "$D/run" ] || [ -d "$D/mon" ]; then
  CEPH_DIR="$D" "$REPO/scripts/servers/ceph-down.sh" >/dev/null
fi
mkdir -p "$D"/{run,log,mon,osd}

FSID=$(cat /proc/sys/kernel/random/uuid)
cat >"$D/ceph.conf" <<CONF
[global]
fsid = $FSID
mon initial members = a
mon host = [v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind port min = 40200
ms bind port max = 40299
auth cluster required = cephx
auth service required = cephx
auth client required = cephx
keyring = $D/\$name.keyring
run dir = $D/run
pid file = $D/run/\$name.pid
admin socket = $D/run/\$name.asok
log file = $D/log/\$name.log
mon data = $D/mon/\$id
osd data = $D/osd/\$id
osd objectstore = memstore
memstore device bytes = 2147483648
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
mon max pg per osd = 1000
osd pool default pg autoscale mode = off
paxos propose interval = 0.01

[client.rgw.a]
rgw frontends = beast endpoint=127.0.0.1:$RGW_PORT tcp_nodelay=1
rgw dns name = localhost
rgw data = $D/rgw
CONF
export CEPH_CONF="$D/ceph.conf"

# Keys: mon., client.admin (cephx is on).
ceph-authtool --create-keyring "$D/mon.keyring" --gen-key -n mon. --cap mon 'allow *' >/dev/null
ceph-authtool --create-keyring "$D/client.admin.keyring" --gen-key -n client.admin \
  --cap mon 'allow *' --cap osd 'allow *' --cap mgr 'allow *' --cap mds 'allow *' >/dev/null
ceph-authtool "$D/mon.keyring" --import-keyring "$D/client.admin.keyring" >/dev/null
cp "$D/mon.keyring" "$D/mon.a.keyring"

# Monitor.
monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_V2,v1:127.0.0.1:$MON_V1]" "$D/monmap" >/dev/null
ceph-mon --mkfs -i a --monmap "$D/monmap" --keyring "$D/mon.keyring" 2>>"$D/log/stderr.log"
ceph-mon -i a 2>>"$D/log/stderr.log"
log "mon started"

# One memstore OSD.
UUID=$(cat /proc/sys/kernel/random/uuid)
OSD_SECRET=$(ceph-authtool --gen-print-key)
printf '{"cephx_secret": "%s"}\n' "$OSD_SECRET" >"$D/osd-secret.json"
OSD_ID=$(ceph --connect-timeout 20 osd new "$UUID" -i "$D/osd-secret.json")
[ "$OSD_ID" = 0 ] || die "expected osd id 0, got '$OSD_ID'"
mkdir -p "$D/osd/0"
ceph-authtool --create-keyring "$D/osd.0.keyring" --name osd.0 --add-key "$OSD_SECRET" >/dev/null
ceph-osd -i 0 --mkfs --osd-uuid "$UUID" 2>>"$D/log/stderr.log" >/dev/null
ceph-osd -i 0 2>>"$D/log/stderr.log"
log "osd started"

deadline=$(($(date +%s) + DEADLINE_S))
until ceph osd dump 2>/dev/null | grep -q '^osd\.0 up'; do
  [ "$(date +%s)" -lt "$deadline" ] || die "osd.0 not up within ${DEADLINE_S}s"
  sleep 0.1
done
log "osd.0 up"

# RADOS gateway.
ceph auth get-or-create client.rgw.a mon 'allow rw' osd 'allow rwx' -o "$D/client.rgw.a.keyring"
mkdir -p "$D/rgw"
radosgw -n client.rgw.a 2>>"$D/log/stderr.log"
until curl -fsS -o /dev/null --max-time 1 "$ENDPOINT/" 2>/dev/null; do
  [ "$(date +%s)" -lt "$deadline" ] || die "radosgw not answering on $ENDPOINT within ${DEADLINE_S}s"
  sleep 0.05
done
log "radosgw answering on $ENDPOINT"

radosgw-admin user create --uid=isekai --display-name='Isekai tests' \
  --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null 2>>"$D/log/stderr.log"
cat >"$D/env" <<ENV
S3_ENDPOINT=$ENDPOINT
S3_REGION=us-east-1
S3_ACCESS_KEY_ID=$ACCESS_KEY
S3_SECRET_ACCESS_KEY=$SECRET_KEY
S3_FORCE_PATH_STYLE=true
ENV
log "S3 user created; env in $D/env"
